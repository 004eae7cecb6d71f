using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>
/// The endpoint and limit cmdlets' common part: one path-manager socket per pipeline, opened before the first
/// input and closed after the last, also when the pipeline stops or fails early (PowerShell calls Dispose).
/// </summary>
public abstract class MptcpPathManagerCmdlet : MptcpCmdlet, IDisposable
{
    private MptcpPathManager? _pathManager;

    protected MptcpPathManager PathManager => _pathManager ?? throw new InvalidOperationException("The path manager is opened in BeginProcessing.");

    protected override void BeginProcessing() => _pathManager = OpenPathManager();

    protected override void EndProcessing() => Dispose();

    /// <summary>The endpoints now, or null after writing why they could not be read.</summary>
    protected IReadOnlyList<MptcpEndpoint>? ReadEndpoints(object? target)
    {
        IReadOnlyList<MptcpEndpoint>? endpoints = null;
        return TryKernel(target ?? MptcpPathManager.FamilyName, () => endpoints = PathManager.GetEndpoints()) ? endpoints : null;
    }

    /// <summary>The endpoint with this id now, written to the pipeline (-PassThru).</summary>
    protected void WriteEndpoint(Func<MptcpEndpoint, bool> match, object? target)
    {
        if (ReadEndpoints(target)?.FirstOrDefault(match) is { } endpoint)
        {
            WriteObject(endpoint);
        }
    }

    public void Dispose()
    {
        _pathManager?.Dispose();
        _pathManager = null;
        GC.SuppressFinalize(this);
    }
}
