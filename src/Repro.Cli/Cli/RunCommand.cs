using System.CommandLine;
using Repro.Experiments;
using Repro.Report;

namespace Repro.Cli;

/// <summary>
/// <c>repro run all|NAME</c>: runs experiments and writes figures, report.html and claims.json into
/// --out (new or empty unless --overwrite: <see cref="CommandPolicy.OutputFolder"/>), fetching missing data and weights
/// first (unless offline), on --device at --scale (the report says both). Exit code 0 when every claim that ran held, 1 when one failed, 3 when none could run.
/// </summary>
internal static class RunCommand
{
    public static Command Create(GlobalOptions options)
    {
        var which = new Argument<string>("experiment") { Description = $"all, or one of: {string.Join(", ", ExperimentCatalog.Names)}" };
        var command = new Command("run", "run the article's experiments and write the report") { which };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var (device, scale) = options.Compute(r);
            options.FetchOnFirstUse(r);
            var experiments = ExperimentCatalog.Create(r.GetValue(which)!);
            var paths = options.Paths(r);
            string? requested = r.GetValue(options.Out);
            var folder = options.Output(r, name => ReportWriter.IsOwnResult(Path.GetFullPath(requested!), name), ("--data", paths.DataRoot), ("--models", paths.ModelRoot));
            string output = folder.Folder;
            var outcomes = ReportWriter.RunAndPublish(experiments, paths, output, r.GetValue(options.Seed),
                "repro " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)), Console.Out, device, scale, folder, TerminalProgress.Sink);
            Console.WriteLine();
            foreach (var o in outcomes)
                Console.WriteLine($"{o.Verdict switch { Verdict.Pass => "PASS   ", Verdict.Fail => "FAIL   ", _ => "NOT RUN" }} {o.Title} ({o.Elapsed.TotalSeconds:F0} s)");
            if (outcomes.All(o => o.Verdict == Verdict.NotRun))
            {
                Console.Error.WriteLine($"repro: no claim could run (data or weights missing; each NOT RUN above says how to get them): see {Path.Combine(output, "report.html")}");
                return ExitCodes.NothingRan;
            }
            return outcomes.Any(o => o.Verdict == Verdict.Fail) ? ReproCommand.ClaimFailed : ReproCommand.Ok;
        }));
        return command;
    }
}
