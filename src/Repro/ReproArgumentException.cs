namespace Repro;

/// <summary>
/// A library argument that would go wrong later (images outside [0,1], labels that do not fit the
/// batch or the model, a count below 1), refused at the public entry point before anything reaches
/// libtorch. <see cref="ParamName"/> is the parameter's name; the message names it too and never a
/// command-line flag (the command checks its flags first and names them itself).
/// </summary>
public sealed class ReproArgumentException(string paramName, string message)
    : ReproInputException($"{paramName}: {message}")
{
    /// <summary>The name of the parameter at fault, as the method declares it.</summary>
    public string ParamName { get; } = paramName;
}
