namespace MptcpTools;

/// <summary>
/// The project's home, where the help pages live (the manifest's ProjectUri; a test keeps the two equal).
/// Get-Help -Online opens a command's page there, and a finding's HelpUri points into about_MptcpTools there.
/// </summary>
public static class ProjectSite
{
    public const string Uri = "https://github.com/MptcpTools/MptcpTools";

    /// <summary>The help pages as the repository holds them (en-US/NAME.md, en-US/about_MptcpTools.help.txt).</summary>
    public const string HelpFolder = Uri + "/blob/main/en-US/";

    /// <summary>
    /// The about topic, scrolled to a term where the browser supports text fragments (the others open the
    /// topic at its start); each finding id's first mention there is its own entry.
    /// </summary>
    public static string AboutTopic(string? term = null) =>
        HelpFolder + "about_MptcpTools.help.txt" + (string.IsNullOrEmpty(term) ? "" : "#:~:text=" + System.Uri.EscapeDataString(term));
}
