using System.CommandLine;
using Repro.Data;
using Repro.Models;

namespace Repro.Cli;

/// <summary><c>repro download cifar10|resnet18|resnet50</c>: fetches a publisher's file with its checksum verified (needs internet).</summary>
public static class DownloadCommand
{
    public static Command Create(GlobalOptions options)
    {
        var what = new Argument<string>("what") { Description = "cifar10, resnet18 or resnet50" };
        var command = new Command("download", "download a data set or weights file, checksum verified, written atomically") { what };
        command.SetAction(ReproCommand.Guarded(r =>
        {
            var paths = options.Paths(r);
            var (file, root) = r.GetValue(what) switch
            {
                "cifar10" => (KnownFiles.Cifar10Binary, paths.DataRoot),
                var name => (ModelRegistry.Get(name!).Download ?? throw new ReproInputException($"{name} has no download (see README)"), paths.ModelRoot),
            };
            string path = Downloader.Http().EnsureAsync(file, root).GetAwaiter().GetResult();
            Console.WriteLine($"{file.Name}: {path}");
            return ReproCommand.Ok;
        }));
        return command;
    }
}
