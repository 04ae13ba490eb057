using System.CommandLine;
using Repro.Runtime;

namespace Repro.Cli;

/// <summary>
/// Entry point of the <c>repro</c> command. Commands parse arguments and call the library; they
/// hold no logic of their own. Exit codes: 0 ok (every claim that ran passed), 1 a claim failed,
/// 2 bad usage or input (one line naming the culprit on stderr, no partial output).
/// </summary>
public static class ReproCommand
{
    public const int Ok = ExitCodes.Ok, ClaimFailed = ExitCodes.ClaimFailed, BadInput = ExitCodes.BadInput;

    public static int Run(string[] args)
    {
        // The benchmark measures with the malloc settings off, then on; everything else starts with them on.
        if (args.FirstOrDefault() != "bench") GlibcMallocTuning.Apply();
        var options = new GlobalOptions();
        var root = new RootCommand("Repro: reproduce 'Adversarial examples and human-ML alignment' — attack, explain and harden image classifiers");
        options.AddTo(root);
        root.Subcommands.Add(RunCommand.Create(options));
        root.Subcommands.Add(EvalCommand.Create(options));
        root.Subcommands.Add(AttackCommand.Create(options));
        root.Subcommands.Add(ExplainCommand.Create(options));
        root.Subcommands.Add(BenchCommand.Create(options));
        root.Subcommands.Add(DownloadCommand.Create(options));
        root.Subcommands.Add(TrainCommandLine.Create(options));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) Console.Error.WriteLine($"repro: {error.Message}");
            Console.Error.WriteLine("repro: see 'repro --help'");
            return BadInput;
        }
        try
        {
            return parsed.Invoke();
        }
        catch (ReproInputException e)
        {
            Console.Error.WriteLine($"repro: {e.Message}");
            return BadInput;
        }
    }

    /// <summary>Wraps a command body so that input errors raised inside it become exit code 2.</summary>
    public static Func<ParseResult, int> Guarded(Func<ParseResult, int> body) => r =>
    {
        try { return body(r); }
        catch (ReproInputException e)
        {
            Console.Error.WriteLine($"repro: {e.Message}");
            return BadInput;
        }
    };
}
