namespace ConflictingAssembly;

/// <summary>What the "other module" calls, to show its copy still answers after MptcpTools loaded its own.</summary>
public static class Marker
{
    public static string Who() => typeof(Marker).Assembly.GetName().ToString();
}
