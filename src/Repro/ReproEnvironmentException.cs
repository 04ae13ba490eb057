namespace Repro;

/// <summary>
/// A fault of the machine rather than of the user's input: a full disk, a folder that cannot be
/// written, a network that cannot be reached, a native library that fails to load. The message
/// names the file, folder or address involved; the command line turns it into one line on stderr
/// and the <c>repro</c> command's exit code 4 (environment fault).
/// </summary>
public sealed class ReproEnvironmentException(string message, Exception? inner = null) : Exception(message, inner);
