namespace Repro;

/// <summary>
/// A problem with what the user gave us (a missing file, a corrupt image, an invalid argument).
/// The message names the culprit; the command line turns it into one line on stderr and exit code 2.
/// <see cref="MissingInputsException"/> is the kind that says a data set or weights file is absent.
/// </summary>
public class ReproInputException(string message, Exception? inner = null) : Exception(message, inner);
