namespace MptcpTools.Kernel;

/// <summary>
/// One assignment in a persistent sysctl file (read by Host.SysctlPersistence), and whether it is the one
/// that wins at boot and whether the running kernel has its key.
/// </summary>
public sealed class PersistentSysctlSetting
{
    public PersistentSysctlSetting(string key, string value, string file, int line, bool ignoreErrors, int order)
    {
        Key = key;
        Value = value;
        File = file;
        Line = line;
        IgnoreErrors = ignoreErrors;
        Order = order;
    }

    /// <summary>The key with dots as separators (a key written with slashes is converted, as systemd-sysctl does).</summary>
    public string Key { get; }
    public string Value { get; }
    public string File { get; }
    public int Line { get; }
    /// <summary>The line started with '-': a missing key is not an error at boot.</summary>
    public bool IgnoreErrors { get; }
    /// <summary>Position in the order the files are applied at boot.</summary>
    public int Order { get; }
    /// <summary>True for the last assignment of its key: the value the boot leaves in place.</summary>
    public bool Effective { get; internal set; }
    /// <summary>Whether the running kernel has this key (null when not judged).</summary>
    public bool? ExistsInKernel { get; internal set; }
    /// <summary>Whether the key has glob characters (systemd 247 and later expand them).</summary>
    public bool IsPattern => Glob.HasWildcards(Key);

    public bool Matches(string name) => IsPattern ? Glob.IsMatch(Key, name) : string.Equals(Key, name, System.StringComparison.Ordinal);

    public override string ToString() => $"{Key} = {Value} ({File}:{Line})";
}
