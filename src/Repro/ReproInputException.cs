namespace Repro;

/// <summary>
/// A problem with what the user gave us (a missing file, a corrupt image, an invalid argument).
/// The message names the culprit; the command line turns it into one line on stderr and exit code 2.
/// </summary>
public sealed class ReproInputException(string message, Exception? inner = null) : Exception(message, inner);
