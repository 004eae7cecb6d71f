using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Management.Automation;

namespace MptcpTools.Commands;

/// <summary>What the cmdlets that read capture files share: -Path (wildcards) and -LiteralPath, from the pipeline too.</summary>
public abstract class CaptureFileCmdlet : MptcpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Path")]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "LiteralPath")]
    [Alias("PSPath", "FullName")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>The files the bound paths name; a pattern that matches nothing is a CaptureFileNotFound error.</summary>
    protected IEnumerable<string> ResolvePaths()
    {
        if (ParameterSetName == "LiteralPath")
        {
            foreach (string literal in LiteralPath)
            {
                yield return GetUnresolvedProviderPathFromPSPath(literal);
            }

            yield break;
        }

        foreach (string pattern in Path)
        {
            Collection<string>? resolved = null;
            try
            {
                resolved = GetResolvedProviderPathFromPSPath(pattern, out _);
            }
            catch (ItemNotFoundException e)
            {
                WriteError(new ErrorRecord(e, "CaptureFileNotFound", ErrorCategory.ObjectNotFound, pattern));
            }

            if (resolved is null)
            {
                continue;
            }

            foreach (string file in resolved)
            {
                yield return file;
            }
        }
    }
}
