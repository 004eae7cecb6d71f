using System.Linq;
using System.Management.Automation;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Host;

namespace MptcpTools.Commands;

/// <summary>Invoke-MptcpDiagnosis: every check on this host, one verdict per finding, stable ids.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "MptcpDiagnosis", DefaultParameterSetName = HostSet)]
[OutputType(typeof(MptcpFinding))]
[OutputType(typeof(bool))]
public sealed class InvokeMptcpDiagnosisCommand : MptcpCmdlet
{
    // A peer is probed only with its port: -ComputerName without -Port is a binding error, not a finding.
    private const string HostSet = "Host";
    private const string PeerSet = "Peer";

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
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Capture this long (seconds) while the probe runs, and judge what was on the wire.</summary>
    [Parameter]
    [ValidateRange(0.5, 600)]
    public double? CaptureSeconds { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    [ValidateInterface(AllowAny = true)]
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

    private readonly CancellationTokenSource _stop = new();

    protected override void EndProcessing()
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
