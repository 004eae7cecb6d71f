using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace MptcpTools;

/// <summary>
/// Loads the module's third-party assemblies (SharpPcap, PacketDotNet, Tmds.DBus.Protocol, ScottPlot and SkiaSharp with
/// their native libraries, and, where the framework lacks it, System.IO.Pipelines) from the module's lib folder into a context of their own, so
/// another module that loads a different version of one of them into the same session breaks neither.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    internal const string FolderName = "lib";

    private static readonly object Gate = new();
    private static DependencyLoadContext? _instance;
    private static int _imports;

    private readonly string _directory;
    private readonly Dictionary<string, string> _platformAssemblies = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="directory">The folder that holds the shipped dependencies.</param>
    /// <param name="platformAssemblies">
    /// Paths of the assemblies the default context binds by itself (the shared framework and pwsh's own);
    /// a parameter so that a test can stand in a .NET 8 runtime, whose framework lacks System.IO.Pipelines.
    /// </param>
    internal DependencyLoadContext(string directory, IEnumerable<string> platformAssemblies)
        : base("MptcpTools", isCollectible: false)
    {
        _directory = directory;
        foreach (string path in platformAssemblies)
        {
            _platformAssemblies.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }
    }

    /// <summary>The one context of this process; the module dll cannot unload, so neither can it.</summary>
    internal static DependencyLoadContext Instance
    {
        get
        {
            lock (Gate)
            {
                return _instance ??= new DependencyLoadContext(
                    Path.Join(Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location), FolderName),
                    PlatformAssemblyPaths());
            }
        }
    }

    /// <summary>The assemblies the default context loads from the trusted platform list (TPA).</summary>
    internal static IEnumerable<string> PlatformAssemblyPaths() =>
        (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty)
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Hooks the default context's Resolving event; counted, as each runspace that imports calls it.</summary>
    internal static void Hook()
    {
        lock (Gate)
        {
            if (_imports++ == 0)
            {
                Default.Resolving += ResolveFromDefault;
            }
        }
    }

    internal static void Unhook()
    {
        lock (Gate)
        {
            if (_imports > 0 && --_imports == 0)
            {
                Default.Resolving -= ResolveFromDefault;
            }
        }
    }

    /// <summary>
    /// Our dll lives in the default context, and its references to the dependencies land here because the
    /// default context cannot find them (they are in lib/, not beside the dll). Answers only for an assembly
    /// that lib/ holds in a version that satisfies the request; everything else is left to other handlers.
    /// </summary>
    private static Assembly? ResolveFromDefault(AssemblyLoadContext context, AssemblyName name)
    {
        DependencyLoadContext alc = Instance;
        return alc.ShippedPath(name) is null ? null : alc.LoadFromAssemblyName(name);
    }

    protected override Assembly? Load(AssemblyName name)
    {
        string? path = ShippedPath(name);
        if (path is null)
        {
            // Not ours (the framework, System.Management.Automation): the default context supplies it.
            return null;
        }

        // An assembly the platform also has (System.IO.Pipelines: Tmds.DBus.Protocol's package brings it, for .NET 8
        // whose framework lacks it; .NET 9 and later have it in the shared framework) is taken from the platform.
        // The default context binds a platform assembly before any module can bring its own, so no version
        // conflict can arise there; the platform's copy is as new or newer, and serviced with the runtime; and a
        // second copy would give the process two PipeReader types. Where the platform lacks it, ours loads here.
        if (PlatformSatisfies(name))
        {
            return null;
        }

        return LoadFromAssemblyPath(path);
    }

    /// <summary>
    /// Native libraries of the shipped assemblies (SkiaSharp's libSkiaSharp, libHarfBuzzSharp) from lib/runtimes/RID/native,
    /// as NuGet lays them out; a library not shipped there is left to the system's search.
    /// </summary>
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string? path = NativeLibraryPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }

    internal string? NativeLibraryPath(string name)
    {
        string rid = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "linux-x64",
            System.Runtime.InteropServices.Architecture.Arm64 => "linux-arm64",
            System.Runtime.InteropServices.Architecture.Arm => "linux-arm",
            _ => "",
        };
        if (rid.Length == 0 || name.IndexOfAny(new[] { '/', '\\' }) >= 0)
        {
            return null;
        }

        string file = name.EndsWith(".so", StringComparison.Ordinal) ? name : name + ".so";
        string path = Path.Join(_directory, "runtimes", rid, "native", file);
        return File.Exists(path) ? path : null;
    }

    /// <summary>The shipped file for this name when it satisfies the requested version; null otherwise.</summary>
    private string? ShippedPath(AssemblyName name)
    {
        if (string.IsNullOrEmpty(name.Name))
        {
            return null;
        }

        string path = Path.Join(_directory, name.Name + ".dll");
        return File.Exists(path) && Satisfies(path, name) ? path : null;
    }

    private bool PlatformSatisfies(AssemblyName name) =>
        name.Name is not null && _platformAssemblies.TryGetValue(name.Name, out string? path) && Satisfies(path, name);

    private static bool Satisfies(string path, AssemblyName requested)
    {
        try
        {
            Version? version = AssemblyName.GetAssemblyName(path).Version;
            return requested.Version is null || (version is not null && version >= requested.Version);
        }
        catch (Exception e) when (e is IOException or BadImageFormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>
/// Run by Import-Module and Remove-Module: refuses a system that is not Linux (once, saying why), and routes the
/// dependencies to their own load context.
/// </summary>
public sealed class ModuleAssemblyInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport()
    {
        if (PlatformSupport.Problem(OperatingSystem.IsLinux(), System.Runtime.InteropServices.RuntimeInformation.OSDescription) is { } problem)
        {
            throw new PlatformNotSupportedException(problem);
        }

        DependencyLoadContext.Hook();
    }

    public void OnRemove(PSModuleInfo psModuleInfo) => DependencyLoadContext.Unhook();
}
