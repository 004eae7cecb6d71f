using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using MptcpTools.Diagnosis;

namespace MptcpTools.Commands;

/// <summary>A repair record that could not be rebuilt, kept until ProcessRecord reports it as an error.</summary>
internal sealed class InvalidRepair
{
    public InvalidRepair(object? input, string reason)
    {
        Input = input;
        Reason = reason;
    }

    public object? Input { get; }
    public string Reason { get; }
}

/// <summary>
/// Rebuilds repair records from what a finding carries: the records themselves, or their deserialized
/// property bags (Import-Clixml, remoting). A finding with anything else in its Repair property is refused
/// whole, as a binding error of that one pipeline input; the pipeline goes on with the next.
/// </summary>
public sealed class RepairTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var records = new List<MptcpRepair>();
        foreach (object? converted in Items(inputData).Select(Convert))
        {
            records.Add(converted as MptcpRepair
                        ?? throw new ArgumentTransformationMetadataException($"Not a repair this module makes: {((InvalidRepair)converted!).Reason}"));
        }

        return records.ToArray();
    }

    /// <summary>The repair records of whole findings (the -Finding parameter).</summary>
    internal static IEnumerable<object?> RepairsOf(IEnumerable<PSObject> findings)
    {
        foreach (PSObject finding in findings)
        {
            object? repairs = finding?.Properties["Repair"]?.Value;
            if (finding is null || finding.Properties["Id"] is null)
            {
                yield return new InvalidRepair(finding, "This is not a finding: it has no Id and no Repair.");
                continue;
            }

            foreach (object? item in Items(repairs))
            {
                yield return Convert(item);
            }
        }
    }

    private static IEnumerable<object?> Items(object? input)
    {
        object? value = input is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : input;
        switch (value)
        {
            case null:
                yield break;
            case string or MptcpRepair or PSObject:
                yield return value;
                break;
            case IEnumerable items:
                foreach (object? item in items)
                {
                    yield return item;
                }

                break;
            default:
                yield return value;
                break;
        }
    }

    private static object? Convert(object? item)
    {
        try
        {
            if (Remoting.RemoteDiagnosis.RebuildRepair(item) is { } repair)
            {
                return repair;
            }
        }
        catch (InvalidRepairException e)
        {
            return new InvalidRepair(item, e.Message);
        }

        return item is string text
            ? new InvalidRepair(item, $"'{text}' is a repair record's text, not the record. A finding of this module sent into a session (Invoke-Command -ArgumentList, $using:) arrives one level deep, its records as their text: repair it from here with Repair-MptcpConfiguration -Session, or pipe findings that came back from that session.")
            : new InvalidRepair(item, $"'{item}' is not a repair record.");
    }
}
