using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading;

namespace MptcpTools.Kernel;

/// <summary>What the kernel did with one endpoint offered with a flag in the probe's namespace.</summary>
public sealed record EndpointFlagTrial
{
    /// <summary>The flag under test.</summary>
    public MptcpEndpointFlags Flag { get; init; }
    /// <summary>Every flag the endpoint was added with (fullmesh needs subflow beside it).</summary>
    public uint Offered { get; init; }
    public bool Accepted { get; init; }
    /// <summary>The errno of a refusal (0 when accepted).</summary>
    public int Errno { get; init; }
    /// <summary>The kernel's extended-ack text of a refusal, when it sent one.</summary>
    public string? KernelMessage { get; init; }
    /// <summary>The flags the kernel lists for the endpoint afterwards; null when refused or not listed.</summary>
    public uint? Listed { get; init; }

    /// <summary>The kernel kept the flag under test: it lists the endpoint with it.</summary>
    public bool Kept => Listed is { } listed && (listed & (uint)Flag) == (uint)Flag;
}

/// <summary>
/// Which endpoint flags the running kernel takes, found by adding one endpoint per flag over generic netlink in
/// a network namespace made for the probe and gone after it: the host's endpoints are never touched. A flag
/// no kernel defines is offered too: a kernel that keeps it stores flags without knowing them, so that its
/// keeping a flag proves nothing. Needs CAP_SYS_ADMIN (a new network namespace); without it the probe says why
/// in <see cref="Problem"/>. A kernel does not change under a running process, so the result is cached.
/// </summary>
public sealed class EndpointFlagProbe
{
    /// <summary>A flag bit no kernel defines (the flags end at laminar, bit 5).</summary>
    public const uint UndefinedFlag = 1u << 31;

    private static readonly Lazy<EndpointFlagProbe> Cached = new(() => Run(TimeSpan.FromSeconds(15)), LazyThreadSafetyMode.ExecutionAndPublication);

    public IReadOnlyList<EndpointFlagTrial> Trials { get; init; } = Array.Empty<EndpointFlagTrial>();
    /// <summary>The kernel kept <see cref="UndefinedFlag"/>: it stores any flag bit (kernels before the flag mask of 6.19 and its stable backports).</summary>
    public bool? KeepsUndefinedFlags { get; init; }
    /// <summary>Why the probe could not run (no CAP_SYS_ADMIN, no mptcp_pm); null when it ran.</summary>
    public string? Problem { get; init; }

    /// <summary>The probe of this process's kernel, run once.</summary>
    public static EndpointFlagProbe ForThisKernel() => Cached.Value;

    /// <summary>
    /// Runs the probe on a thread of its own that moves into a new network namespace (unshare(CLONE_NEWNET)
    /// affects only the calling thread); the namespace disappears when the thread's sockets close and it ends.
    /// </summary>
    public static EndpointFlagProbe Run(TimeSpan timeout)
    {
        EndpointFlagProbe? result = null;
        var thread = new Thread(() => result = RunHere()) { IsBackground = true, Name = "MPTCP endpoint flag probe" };
        thread.Start();
        if (!thread.Join(timeout))
        {
            return new EndpointFlagProbe { Problem = $"The endpoint flag probe did not finish within {timeout.TotalSeconds:0} s." };
        }

        return result ?? new EndpointFlagProbe { Problem = "The endpoint flag probe ended without a result." };
    }

    // Only ever on the probe's own thread: it leaves the thread in the throwaway namespace.
    private static EndpointFlagProbe RunHere()
    {
        if (Native.Unshare(Native.CLONE_NEWNET) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return new EndpointFlagProbe
            {
                Problem = errno == Errnos.EPERM
                    ? "Endpoint flags are probed in a network namespace made for the probe, which needs CAP_SYS_ADMIN; this process does not have it (unshare: EPERM)."
                    : $"A network namespace for the probe could not be made (unshare: {Native.StrError(errno)} ({Errnos.Name(errno)})).",
            };
        }

        var offers = new (MptcpEndpointFlags Flag, uint Offered)[]
        {
            (MptcpEndpointFlags.Subflow, (uint)MptcpEndpointFlags.Subflow),
            (MptcpEndpointFlags.Fullmesh, (uint)(MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)),
            (MptcpEndpointFlags.Implicit, (uint)MptcpEndpointFlags.Implicit),
            (MptcpEndpointFlags.Laminar, (uint)MptcpEndpointFlags.Laminar),
            ((MptcpEndpointFlags)UndefinedFlag, (uint)MptcpEndpointFlags.Subflow | UndefinedFlag),
        };
        try
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            var added = new List<(byte Id, MptcpEndpointFlags Flag, uint Offered, int Errno, string? Text)>();
            for (int i = 0; i < offers.Length; i++)
            {
                byte id = (byte)(i + 1);
                // Loopback addresses of a namespace that has no interface up: nothing can use these endpoints.
                var address = new IPAddress(new byte[] { 127, 0, 0, id });
                try
                {
                    pm.AddEndpoint(address, id, 0, (MptcpEndpointFlags)offers[i].Offered, 0);
                    added.Add((id, offers[i].Flag, offers[i].Offered, 0, null));
                }
                catch (KernelException e)
                {
                    added.Add((id, offers[i].Flag, offers[i].Offered, e.Errno, e.KernelMessage));
                }
            }

            Dictionary<byte, uint> listed = pm.GetEndpoints().ToDictionary(e => e.Id, e => e.RawFlags);
            var trials = added.Select(a => new EndpointFlagTrial
            {
                Flag = a.Flag, Offered = a.Offered, Accepted = a.Errno == 0, Errno = a.Errno, KernelMessage = a.Text,
                Listed = a.Errno == 0 && listed.TryGetValue(a.Id, out uint flags) ? flags : null,
            }).ToList();
            EndpointFlagTrial undefined = trials[^1];
            return new EndpointFlagProbe
            {
                Trials = trials.Take(trials.Count - 1).ToArray(),
                KeepsUndefinedFlags = undefined.Accepted ? undefined.Kept : null,
            };
        }
        catch (Exception e) when (e is KernelException or MptcpPathManagerMissingException or FormatException)
        {
            return new EndpointFlagProbe { Problem = $"The endpoint flag probe failed: {e.Message}" };
        }
    }
}
