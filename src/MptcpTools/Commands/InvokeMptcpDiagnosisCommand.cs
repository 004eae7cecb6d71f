using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Remoting;

namespace MptcpTools.Commands;

/// <summary>
/// Invoke-MptcpDiagnosis: every check on this host, one verdict per finding, stable ids. With -HostName or -Session,
/// the same diagnosis on each of those hosts at once, its findings tagged with the host they are about.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "MptcpDiagnosis", DefaultParameterSetName = HostSet)]
[OutputType(typeof(MptcpFinding))]
[OutputType(typeof(bool))]
public sealed class InvokeMptcpDiagnosisCommand : MptcpCmdlet
{
    // A peer is probed only with its port: -ComputerName without -Port is a binding error, not a finding.
    private const string HostSet = "Host";
    private const string PeerSet = "Peer";
    private const string HostNameSet = "HostName";
    private const string SessionSet = "Session";

    [Parameter]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ProcessNameCompleter))]
    [ValidateWildcard]
    public string[]? ProcessName { get; set; }

    /// <summary>A peer to probe with a real MPTCP connection.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PeerSet)]
    [Alias("RemoteAddress")]
    [ValidateNotNullOrEmpty]
    public string? ComputerName { get; set; }

    /// <summary>The peer's port; also the service port the firewall check looks for.</summary>
    [Parameter(ParameterSetName = HostSet)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PeerSet)]
    [Parameter(ParameterSetName = HostNameSet)]
    [Parameter(ParameterSetName = SessionSet)]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Capture this long (seconds) while the probe runs, and judge what was on the wire.</summary>
    [Parameter]
    [ValidateRange(0.5, 600)]
    public double? CaptureSeconds { get; set; }

    [Parameter]
    // Checked once the parameter set is known: with -HostName or -Session the names are those of the remote hosts.
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Interface { get; set; }

    [Parameter]
    public SwitchParameter IncludePassed { get; set; }

    /// <summary>Write one Boolean instead of the findings: true when none is an Error or a Warning.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <summary>The D-Bus to ask systemd and NetworkManager on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    /// <summary>The mptcpd configuration to check (default /etc/mptcpd/mptcpd.conf).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string DaemonConfigPath { get; set; } = MptcpdConfig.DefaultPath;

    /// <summary>Hosts to diagnose over SSH, as Invoke-Command -HostName takes them (HOST, USER@HOST, HOST:PORT).</summary>
    [Parameter(Mandatory = true, ParameterSetName = HostNameSet, ValueFromPipeline = true)]
    [Alias("SSHHost")]
    public string[] HostName { get; set; } = Array.Empty<string>();

    /// <summary>The SSH user, where a host name has none.</summary>
    [Parameter(ParameterSetName = HostNameSet)]
    public string? UserName { get; set; }

    /// <summary>The SSH private key to log in with.</summary>
    [Parameter(ParameterSetName = HostNameSet)]
    [Alias("IdentityFilePath")]
    public string? KeyFilePath { get; set; }

    /// <summary>ssh options, as New-PSSession -Options takes them (@{ StrictHostKeyChecking = 'yes' }).</summary>
    [Parameter(ParameterSetName = HostNameSet)]
    public Hashtable? Options { get; set; }

    /// <summary>How long to wait for each SSH connection (seconds).</summary>
    [Parameter(ParameterSetName = HostNameSet)]
    [ValidateRange(1, 3600)]
    public int ConnectingTimeout { get; set; } = 30;

    /// <summary>Sessions already open (New-PSSession) to diagnose the hosts of.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SessionSet, ValueFromPipeline = true)]
    public PSSession[] Session { get; set; } = Array.Empty<PSSession>();

    /// <summary>How many hosts are diagnosed at once.</summary>
    [Parameter(ParameterSetName = HostNameSet)]
    [Parameter(ParameterSetName = SessionSet)]
    [ValidateRange(1, 1000)]
    public int ThrottleLimit { get; set; } = 32;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<RemoteHost> _hosts = new();

    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case HostNameSet:
                string? key = KeyFilePath is null ? null : GetUnresolvedProviderPathFromPSPath(KeyFilePath);
                foreach (string name in HostName)
                {
                    try
                    {
                        _hosts.Add(RemoteHost.ForSsh(SshTarget.Parse(name, UserName), key, Options, TimeSpan.FromSeconds(ConnectingTimeout)));
                    }
                    catch (ArgumentException e)
                    {
                        WriteError(new ErrorRecord(e, "InvalidArgument", ErrorCategory.InvalidArgument, name));
                    }
                    catch (PlatformNotSupportedException e)
                    {
                        ThrowTerminatingError(new ErrorRecord(e, "NotSupported", ErrorCategory.NotImplemented, name));
                    }
                }

                break;
            case SessionSet:
                _hosts.AddRange(Session.Where(s => s is not null).Select(RemoteHost.ForSession));
                break;
        }
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName is HostSet or PeerSet)
        {
            foreach (string? name in Interface ?? Array.Empty<string>())
            {
                if (ValidateInterfaceAttribute.Problem(name, allowAny: true) is { } problem)
                {
                    ThrowTerminatingError(new ErrorRecord(new ArgumentException(problem, nameof(Interface)), "InterfaceNotFound", ErrorCategory.ObjectNotFound, name));
                }
            }

            DiagnoseHere();
            return;
        }

        Hashtable parameters = BoundSubset(nameof(ProcessId), nameof(ProcessName), nameof(Port), nameof(CaptureSeconds), nameof(Interface),
            nameof(IncludePassed), nameof(BusAddress), nameof(DaemonConfigPath));

        // -Quiet: one Boolean for the whole fleet, false when any host has an Error or a Warning (an unreachable host is one).
        bool healthy = true;
        foreach (RemoteItem item in new RemoteDiagnosis(_hosts, ThrottleLimit, parameters).Run(_stop.Token))
        {
            switch (item.Value)
            {
                case MptcpFinding finding when Quiet:
                    healthy &= finding.Severity is not (FindingSeverity.Error or FindingSeverity.Warning);
                    break;
                case MptcpFinding finding:
                    WriteObject(Tagged(finding, item.ComputerName));
                    break;
                case ErrorRecord error:
                    healthy = false; // a host whose diagnosis failed is not known to be healthy
                    WriteError(error);
                    break;
                case RemoteMessage { IsWarning: true } m:
                    WriteWarning(m.Text);
                    break;
                case RemoteMessage m:
                    WriteVerbose(m.Text);
                    break;
            }
        }

        if (Quiet)
        {
            WriteObject(healthy);
        }
    }

    private void DiagnoseHere()
    {
        var request = new DiagnosisRequest
        {
            ProcessIds = ProcessId, ProcessNames = ProcessName, ComputerName = ComputerName, Port = Port, CaptureSeconds = CaptureSeconds,
            Interfaces = Interface, BusAddress = BusAddress, DaemonConfigPath = GetUnresolvedProviderPathFromPSPath(DaemonConfigPath),
        };

        // The gathering runs on a worker, so that this thread shows the time left of a capture or a probe.
        var countdown = new Countdown(this, "Invoke-MptcpDiagnosis");
        HostFacts facts = countdown.Run((verbose, warning) =>
            new DiagnosisGatherer(request, verbose, warning) { Waiting = countdown.Start }.Gather(_stop.Token));
        var findings = DiagnosisRules.Evaluate(facts);
        if (Quiet)
        {
            WriteObject(!findings.Any(f => f.Severity is FindingSeverity.Error or FindingSeverity.Warning));
            return;
        }

        foreach (MptcpFinding finding in findings)
        {
            if (finding.Severity != FindingSeverity.Passed || IncludePassed)
            {
                WriteObject(finding);
            }
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}
