using System.Text.RegularExpressions;

namespace Repro.Cli;

/// <summary>
/// The library names its settings in its messages, never a flag: the parameter at fault
/// (<see cref="ReproArgumentException.ParamName"/>, e.g. <c>outputFolder</c>) and, inside the text, parameter
/// or settings-property names (<c>imageFolder</c>, <c>options.Component</c>). A command maps them back to the
/// flags the user typed, so the one line the user sees names <c>--out</c>, <c>--images</c>, <c>--component</c>.
/// </summary>
internal static class SettingFlags
{
    /// <summary>
    /// <paramref name="e"/>'s message with the settings of <paramref name="flags"/> named by their flags: a
    /// <see cref="ReproArgumentException"/> whose parameter is listed reads "<c>FLAG: text</c>"; inside the text,
    /// a listed name that is an identifier of its own (camelCase or dotted, so not a plain word such as
    /// <c>output</c>) is replaced where it stands as a whole word. Returns <paramref name="e"/> itself when nothing changes.
    /// </summary>
    public static ReproInputException Rename(ReproInputException e, IReadOnlyDictionary<string, string> flags)
    {
        string message = e.Message;
        if (e is ReproArgumentException a && flags.TryGetValue(a.ParamName, out string? flag) && message.StartsWith(a.ParamName + ": ", StringComparison.Ordinal))
            message = $"{flag}: {message[(a.ParamName.Length + 2)..]}";
        message = Rename(message, flags);
        return message == e.Message ? e : new ReproInputException(message, e);
    }

    /// <summary>A note the library wrote for the user, with the settings of <paramref name="flags"/> it names replaced by their flags (as inside <see cref="Rename(ReproInputException, IReadOnlyDictionary{string, string})"/>).</summary>
    public static string Rename(string text, IReadOnlyDictionary<string, string> flags)
    {
        foreach (var (setting, name) in flags)
            if (setting.Contains('.') || setting.Any(char.IsUpper))
                text = Regex.Replace(text, $@"(?<![\w./-]){Regex.Escape(setting)}(?![\w])", name.Replace("$", "$$", StringComparison.Ordinal));
        return text;
    }

    /// <summary>Runs a library call and renames the settings in a <see cref="ReproInputException"/> it throws (<see cref="Rename"/>).</summary>
    public static T Call<T>(Func<T> call, IReadOnlyDictionary<string, string> flags)
    {
        try { return call(); }
        catch (ReproInputException e)
        {
            var renamed = Rename(e, flags);
            if (ReferenceEquals(renamed, e)) throw;
            throw renamed;
        }
    }
}
