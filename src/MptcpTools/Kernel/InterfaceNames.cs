using System.Runtime.InteropServices;

namespace MptcpTools.Kernel;

/// <summary>Interface name and index in the caller's network namespace (if_nametoindex(3)).</summary>
public static unsafe class InterfaceNames
{
    /// <summary>The index of an interface, or 0 when this namespace has no such interface.</summary>
    public static int IndexOf(string name) => (int)Native.IfNameToIndex(name);

    /// <summary>The name of an interface, or null when the index is unknown here.</summary>
    public static string? NameOf(int index)
    {
        byte* buffer = stackalloc byte[32]; // IF_NAMESIZE is 16
        nint result = Native.IfIndexToName((uint)index, buffer);
        return result == 0 ? null : Marshal.PtrToStringUTF8((nint)buffer);
    }
}
