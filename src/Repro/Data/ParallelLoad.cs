using System.Runtime.ExceptionServices;

namespace Repro.Data;

/// <summary>Parallel.For for file decoding that rethrows the first error itself (naming its file), not an AggregateException.</summary>
internal static class ParallelLoad
{
    public static void For(int count, Action<int> body, int maxDegreeOfParallelism = -1)
    {
        try { Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism }, body); }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
