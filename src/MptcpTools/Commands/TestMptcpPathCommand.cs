using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Remoting;

namespace MptcpTools.Commands;

/// <summary>
/// Test-MptcpPath: MPTCP between two hosts, end to end: both configurations judged together, a real MPTCP connection
/// from the client to a listener on the server, captured at both ends at once and matched, and a verdict per path.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "MptcpPath")]
[OutputType(typeof(MptcpFinding), typeof(MptcpPathTest))]
public sealed class TestMptcpPathCommand : MptcpCmdlet
{
    /// <summary>A session to the server (New-PSSession).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public PSSession Server { get; set; } = null!;

    /// <summary>A session to the client; this host when not given.</summary>
    [Parameter]
    public PSSession? Client { get; set; }

    /// <summary>The real service's port on the server; without it, a listener of the module's own on a free port.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>The server address the client connects to (default: the server session's computer name), then more of its addresses to expect paths to.</summary>
    [Parameter]
    public string[]? ServerAddress { get; set; }

    /// <summary>How long the connection is held, sending a little, for the path managers to open subflows (seconds).</summary>
    [Parameter]
    [ValidateRange(0.5, 60)]
    public double HoldSeconds { get; set; } = 2;

    /// <summary>How long the client waits for the connection (seconds).</summary>
    [Parameter]
    [ValidateRange(1, 120)]
    public double ConnectTimeout { get; set; } = 10;

    [Parameter]
    public SwitchParameter IncludePassed { get; set; }

    /// <summary>Write the whole test (a verdict per path, the subflows compared, the findings) instead of the findings.</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    /// <summary>The D-Bus both ends ask systemd and NetworkManager on (default: their system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    private readonly CancellationTokenSource _stop = new();

    protected override void ProcessRecord()
    {
        if (Client is not null && Client.InstanceId == Server.InstanceId)
        {
            WriteError(new ErrorRecord(new ArgumentException("-Client and -Server are the same session: a path needs two hosts."), "InvalidArgument",
                ErrorCategory.InvalidArgument, Server));
            return;
        }

        var extra = new List<IPAddress>();
        foreach (string a in (ServerAddress ?? Array.Empty<string>()).Skip(1))
        {
            if (!IPAddress.TryParse(a, out IPAddress? address))
            {
                WriteError(new ErrorRecord(new ArgumentException($"'{a}' is not an address: only the first -ServerAddress may be a name."), "InvalidArgument",
                    ErrorCategory.InvalidArgument, a));
                return;
            }

            extra.Add(address);
        }

        var server = new RemotePathEnd(RemoteHost.ForSession(Server));
        IPathEnd client = Client is null ? new LocalPathEnd() : new RemotePathEnd(RemoteHost.ForSession(Client));
        foreach (RemotePathEnd end in new[] { server, client as RemotePathEnd }.OfType<RemotePathEnd>())
        {
            try
            {
                WriteVerbose($"{end.ComputerName}: importing MptcpTools.");
                end.Prepare(_stop.Token);
            }
            catch (RemoteHostException e)
            {
                MptcpFinding finding = DiagnosisRules.JudgeRemote(end.Host.Failure(e));
                WriteObject(Tagged(finding, end.ComputerName));
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var request = new PathTestRequest
        {
            Port = Port, ServerAddress = ServerAddress?.FirstOrDefault(), ExtraServerAddresses = extra, HoldSeconds = HoldSeconds,
            ConnectTimeoutSeconds = ConnectTimeout, BusAddress = BusAddress,
        };
        PathFacts facts;
        try
        {
            facts = PathTester.Run(client, server, request, WriteVerbose, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        MptcpPathTest test = PathDiagnosis.Judge(facts);
        if (Detailed)
        {
            WriteObject(test);
            return;
        }

        foreach (MptcpFinding finding in test.Findings.Where(x => x.Severity != FindingSeverity.Passed || IncludePassed))
        {
            WriteObject(Tagged(finding, finding.ComputerName ?? test.Client));
        }
    }

    protected override void StopProcessing() => _stop.Cancel();
}
