using System.Linq;
using System.Management.Automation;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Kernel;

namespace MptcpTools.Remoting;

/// <summary>
/// A host reached over remoting as an end of a path test: each call runs the module's own PathEndAgent there, with its
/// request and its answer as JSON (FactsJson), so what comes back is the same typed facts a local end gives.
/// </summary>
public sealed class RemotePathEnd : IPathEnd
{
    private readonly RemoteHost _host;

    public RemotePathEnd(RemoteHost host) => _host = host;

    public string ComputerName => _host.Name;
    public RemoteHost Host => _host;

    /// <summary>Checks the session and imports the module there; RemoteHostException when it cannot.</summary>
    public void Prepare(CancellationToken cancel)
    {
        _host.Open(cancel);
        _host.ImportModule(cancel);
    }

    public PathEndStarted Start(PathEndStart request, CancellationToken cancel) =>
        Call<PathEndStarted>(nameof(PathEndAgent.StartJson), FactsJson.Serialize(request), cancel);

    public HostFacts Gather(DiagnosisRequest request, CancellationToken cancel) =>
        Call<HostFacts>(nameof(PathEndAgent.GatherJson), FactsJson.Serialize(request), cancel);

    public ProbeOutcome Connect(PathConnect request, CancellationToken cancel) =>
        Call<ProbeOutcome>(nameof(PathEndAgent.ConnectJson), FactsJson.Serialize(request), cancel);

    public PathEndCapture Stop(string id, CancellationToken cancel) => Call<PathEndCapture>(nameof(PathEndAgent.StopJson), id, cancel);

    private T Call<T>(string method, string argument, CancellationToken cancel)
    {
        try
        {
            PSObject? answer = _host.Run(ps => ps.AddScript($"param([string] $a) [MptcpTools.Diagnosis.PathEndAgent]::{method}($a)").AddArgument(argument),
                null, null, null, null, cancel).LastOrDefault();
            return answer?.BaseObject is string json
                ? FactsJson.Deserialize<T>(json)
                : throw new PathEndException($"{_host.Name} gave no answer to {method}.");
        }
        catch (RemoteHostException e)
        {
            throw new PathEndException($"{_host.Name}: {e.Message}", e);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new PathEndException($"{_host.Name} answered {method} in a form this version of the module does not read (is its MptcpTools another version?): {e.Message}", e);
        }
    }
}
