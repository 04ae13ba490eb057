namespace Repro.Cli;

/// <summary>Entry point of the <c>repro</c> command. Exit codes: 0 ok, 1 a claim failed, 2 bad usage or input.</summary>
public static class ReproCommand
{
    public static int Run(string[] args)
    {
        try
        {
            Console.Error.WriteLine("repro: no commands yet");
            return 2;
        }
        catch (ReproInputException e)
        {
            Console.Error.WriteLine($"repro: {e.Message}");
            return 2;
        }
    }
}
