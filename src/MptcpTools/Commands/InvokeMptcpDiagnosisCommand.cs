using System.Management.Automation;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Host;

namespace MptcpTools.Commands;

/// <summary>Invoke-MptcpDiagnosis: every check on this host, one verdict per finding, stable ids.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "MptcpDiagnosis")]
[OutputType(typeof(MptcpFinding))]
public sealed class InvokeMptcpDiagnosisCommand : MptcpCmdlet
{
    [Parameter]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    [Parameter]
    [SupportsWildcards]
    public string[]? ProcessName { get; set; }

    /// <summary>A peer to probe with a real MPTCP connection.</summary>
    [Parameter(Position = 0)]
    [Alias("RemoteAddress")]
    public string? ComputerName { get; set; }

    /// <summary>The peer's port; also the service port the firewall check looks for.</summary>
    [Parameter(Position = 1)]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Capture this long (seconds) while the probe runs, and judge what was on the wire.</summary>
    [Parameter]
    [ValidateRange(0.5, 600)]
    public double? CaptureSeconds { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    public string[]? Interface { get; set; }

    [Parameter]
    public SwitchParameter IncludePassed { get; set; }

    /// <summary>The D-Bus to ask systemd and NetworkManager on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    /// <summary>The mptcpd configuration to check (default /etc/mptcpd/mptcpd.conf).</summary>
    [Parameter]
    public string DaemonConfigPath { get; set; } = MptcpdConfig.DefaultPath;

    private readonly CancellationTokenSource _stop = new();

    protected override void EndProcessing()
    {
        var request = new DiagnosisRequest
        {
            ProcessIds = ProcessId, ProcessNames = ProcessName, ComputerName = ComputerName, Port = Port, CaptureSeconds = CaptureSeconds,
            Interfaces = Interface, BusAddress = BusAddress, DaemonConfigPath = GetUnresolvedProviderPathFromPSPath(DaemonConfigPath),
        };
        HostFacts facts = new DiagnosisGatherer(request, WriteVerbose, WriteWarning).Gather(_stop.Token);
        foreach (MptcpFinding finding in DiagnosisRules.Evaluate(facts))
        {
            if (finding.Severity != FindingSeverity.Passed || IncludePassed)
            {
                WriteObject(finding);
            }
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}
