using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Lets a TimeSpan parameter take plain numbers as seconds (`-Interval 5`), as admins expect.</summary>
public sealed class SecondsTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value switch
        {
            TimeSpan span => span,
            int or long or short or byte or uint or ulong or ushort or sbyte => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            double or float or decimal => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) => TimeSpan.FromSeconds(seconds),
            string s when TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out TimeSpan parsed) => parsed,
            _ => throw new ArgumentTransformationMetadataException($"'{inputData}' is neither a number of seconds nor a time span."),
        };
    }
}

/// <summary>Completes interface names of this network namespace.</summary>
public sealed class InterfaceNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string[] names;
        try
        {
            names = Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName).OfType<string>().OrderBy(n => n).ToArray();
        }
        catch (IOException)
        {
            yield break;
        }

        foreach (string name in names)
        {
            if (name.StartsWith(wordToComplete, StringComparison.Ordinal))
            {
                yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, name);
            }
        }
    }
}

/// <summary>Completes the ids of the endpoints that exist.</summary>
public sealed class EndpointIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<MptcpEndpoint> endpoints;
        try
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            endpoints = pm.GetEndpoints();
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            yield break;
        }

        foreach (MptcpEndpoint endpoint in endpoints)
        {
            string id = endpoint.Id.ToString(CultureInfo.InvariantCulture);
            if (id.StartsWith(wordToComplete, StringComparison.Ordinal))
            {
                yield return new CompletionResult(id, $"{id} {endpoint.Address}", CompletionResultType.ParameterValue, endpoint.ToString());
            }
        }
    }
}
