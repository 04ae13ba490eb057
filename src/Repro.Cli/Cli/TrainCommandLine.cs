using System.CommandLine;
using Repro.Application;
using Repro.Training;

namespace Repro.Cli;

/// <summary><c>repro train standard|robust [--commit]</c>: retrains one of the CIFAR claim models by its recipe (see data/weights/README.md), on --device.</summary>
internal static class TrainCommandLine
{
    public static Command Create(GlobalOptions options)
    {
        var which = new Argument<string>("recipe") { Description = "standard or robust" };
        var commit = new Option<bool>("--commit") { Description = "also write the weights, checksum and manifest into data/weights/" };
        var command = new Command("train", "train the standard or the adversarially trained CIFAR-10 cat/airplane model") { which, commit };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var device = options.Apply(r);
            return TrainCommand.Run(r.GetValue(which)!, r.GetValue(commit), options.Paths(r), Console.Out, "repro " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), device);
        }));
        return command;
    }
}
