using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpEndpoint: the in-kernel path manager's endpoints (`ip mptcp endpoint show`).</summary>
[Cmdlet(VerbsCommon.Get, "MptcpEndpoint")]
[OutputType(typeof(MptcpEndpoint))]
public sealed class GetMptcpEndpointCommand : MptcpPathManagerCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(EndpointIdCompleter))]
    public byte[]? Id { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public IPAddress[]? Address { get; set; }

    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    [ValidateWildcard]
    public string[]? Interface { get; set; }

    /// <summary>Only endpoints that have all of these flags.</summary>
    [Parameter]
    public MptcpEndpointFlags Flags { get; set; }

    protected override void ProcessRecord()
    {
        if (ReadEndpoints(null) is not { } endpoints)
        {
            return;
        }

        // A name without wildcards that this namespace does not have is a mistake to say, not an empty answer.
        foreach (string name in Interface ?? Array.Empty<string>())
        {
            if (!WildcardPattern.ContainsWildcardCharacters(name) && (name.Length >= 16 || InterfaceNames.IndexOf(name) == 0))
            {
                string[] known = InterfaceNameCompleter.Names();
                WriteNewError("InterfaceNotFound", ErrorCategory.ObjectNotFound, name,
                    $"There is no interface '{name}' in this network namespace{(known.Length > 0 ? $" (it has {string.Join(", ", known)})" : "")}.");
            }
        }

        WildcardPattern[]? interfaces = Interface?.Select(i => new WildcardPattern(i, WildcardOptions.CultureInvariant)).ToArray();
        IEnumerable<MptcpEndpoint> selected = endpoints.Where(e =>
            (Address is null || Address.Any(a => a.Equals(e.Address)))
            && (interfaces is null || (e.Interface is not null && interfaces.Any(p => p.IsMatch(e.Interface))))
            && (e.Flags & Flags) == Flags);
        if (Id is not null)
        {
            foreach (byte id in Id)
            {
                MptcpEndpoint? match = selected.FirstOrDefault(e => e.Id == id);
                if (match is null)
                {
                    WriteNewError(KernelErrors.NotFound, ErrorCategory.ObjectNotFound, id,
                        $"There is no MPTCP endpoint with id {id}.");
                }
                else
                {
                    WriteObject(match);
                }
            }

            return;
        }

        foreach (MptcpEndpoint endpoint in selected)
        {
            WriteObject(endpoint);
        }
    }
}
