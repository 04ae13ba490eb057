return Repro.Cli.ReproCommand.Run(args);
