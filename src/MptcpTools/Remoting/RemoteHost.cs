using System;
using System.Collections;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Remoting;
using System.Management.Automation.Runspaces;
using System.Threading;
using MptcpTools.Diagnosis;

namespace MptcpTools.Remoting;

/// <summary>Why a remote host could not do what was asked.</summary>
public sealed class RemoteHostException : Exception
{
    public RemoteHostException(RemoteHostProblem problem, string message, string? modulePath = null, Exception? inner = null) : base(message, inner)
    {
        Problem = problem;
        ModulePath = modulePath;
    }

    public RemoteHostProblem Problem { get; }
    public string? ModulePath { get; }
}

/// <summary>
/// One host reached over PowerShell remoting: a runspace this object opens over SSH and closes, or the runspace of
/// a session the caller opened (kept open). Runs one pipeline at a time there, from any thread; <see cref="Stop"/>
/// (from another thread) stops the running pipeline and closes a runspace of its own.
/// </summary>
public sealed class RemoteHost : IDisposable
{
    public const string ModuleName = "MptcpTools";

    private readonly Runspace _runspace;
    private readonly bool _owned;
    private readonly object _gate = new();
    private PowerShell? _running;
    private bool _stopped;

    private RemoteHost(string name, Runspace runspace, bool owned, string transport, string? userName)
    {
        Name = name;
        _runspace = runspace;
        _owned = owned;
        Transport = transport;
        UserName = userName;
    }

    /// <summary>The name the host was reached by: what findings about it call it.</summary>
    public string Name { get; }
    public string Transport { get; }
    public string? UserName { get; }
    /// <summary>The version of the module imported there, once <see cref="ImportModule"/> succeeded.</summary>
    public Version? ModuleVersion { get; private set; }

    /// <summary>A host reached over SSH, as Invoke-Command -HostName reaches it; not connected until <see cref="Open"/>.</summary>
    public static RemoteHost ForSsh(SshTarget target, string? keyFilePath, Hashtable? options, TimeSpan connectingTimeout) =>
        new(target.Name, RunspaceFactory.CreateRunspace(target.ConnectionInfo(keyFilePath, options, connectingTimeout)), owned: true, "SSH", target.UserName)
        {
            _sshTarget = target,
            _sshOptions = options,
            _connectingTimeout = connectingTimeout,
        };

    private SshTarget? _sshTarget;
    private Hashtable? _sshOptions;
    private TimeSpan _connectingTimeout;

    /// <summary>
    /// Why ssh could not reach <paramref name="target"/>, asked before pwsh starts it: ssh refuses the name or user,
    /// the host name its configuration gives (ssh -G with the caller's options, so aliases and HostName lines count)
    /// does not resolve here, or nothing answers on its SSH port. Null when all is well, or when a ProxyJump or
    /// ProxyCommand connects elsewhere. pwsh's SSH transport can end the whole process when ssh exits at once (an
    /// unhandled IOException on its error thread), so what cannot work never reaches it.
    /// </summary>
    internal static string? WhyUnreachable(SshTarget target, Hashtable? options = null, TimeSpan? connectingTimeout = null, CancellationToken stop = default)
    {
        var start = new System.Diagnostics.ProcessStartInfo("ssh")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        start.ArgumentList.Add("-G");
        if (target.Port > 0)
        {
            start.ArgumentList.Add("-p");
            start.ArgumentList.Add(target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // The caller's -Options go to ssh too (a ProxyJump or HostName there changes where it connects).
        foreach (DictionaryEntry option in options ?? new Hashtable())
        {
            start.ArgumentList.Add("-o");
            start.ArgumentList.Add($"{option.Key}={option.Value}");
        }

        // A user name ssh refuses (a newline, quotes) also makes it exit at once: ssh -G checks it as well.
        if (!string.IsNullOrEmpty(target.UserName))
        {
            start.ArgumentList.Add("-l");
            start.ArgumentList.Add(target.UserName);
        }

        start.ArgumentList.Add("--"); // a name that starts with '-' is a host, never an option
        start.ArgumentList.Add(target.HostName);
        string output, error;
        try
        {
            using var ssh = System.Diagnostics.Process.Start(start)!;
            ssh.StandardInput.Close();
            var stderr = ssh.StandardError.ReadToEndAsync();
            output = ssh.StandardOutput.ReadToEnd();
            if (!ssh.WaitForExit(5000))
            {
                ssh.Kill(true);
                return null; // ssh will say for itself
            }

            error = stderr.Result.Trim();
            if (ssh.ExitCode != 0)
            {
                return $"ssh cannot use the name '{target.HostName}'{(string.IsNullOrEmpty(target.UserName) ? "" : $" with the user '{target.UserName}'")}: {error}";
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"ssh could not be started: {e.Message}";
        }

        string? Value(string key) => output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(key + " ", StringComparison.Ordinal))?[(key.Length + 1)..];
        if (Value("proxyjump") is { } jump && jump != "none" || Value("proxycommand") is { } command && command != "none")
        {
            return null;
        }

        string name = Value("hostname") ?? target.HostName;
        // "[2001:db8::2]" is an address; a lone "[" is a name ssh cannot resolve (pwsh then hands ssh an empty one).
        if (name.Length > 2 && name[0] == '[' && name[^1] == ']')
        {
            name = name[1..^1];
        }

        System.Net.IPAddress address;
        try
        {
            address = MptcpTools.Host.NameResolution.Resolve(name);
        }
        catch (MptcpTools.Host.NameResolutionException e)
        {
            return e.Message;
        }

        // Nothing listening there (refused, no route) also ends ssh at once: asked first, by connecting. A connection
        // that neither succeeds nor fails within the timeout is left to ssh, which says it in its own words.
        int port = int.TryParse(Value("port"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p) && p is > 0 and <= 65535
            ? p : target.Port > 0 ? target.Port : 22;
        using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            TimeSpan wait = connectingTimeout is { } t && t > TimeSpan.Zero && t < TimeSpan.FromSeconds(10) ? t : TimeSpan.FromSeconds(10);
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cancel.CancelAfter(wait);
            probe.ConnectAsync(new System.Net.IPEndPoint(address, port), cancel.Token).AsTask().GetAwaiter().GetResult();
            return null;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return $"nothing answers SSH on {(name == address.ToString() ? name : $"{name} ({address})")} port {port}: {e.Message}";
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A session the caller opened (New-PSSession): used as it is, and left open.</summary>
    public static RemoteHost ForSession(System.Management.Automation.Runspaces.PSSession session)
    {
        string transport = session.Runspace.ConnectionInfo?.GetType().Name.Replace("ConnectionInfo", "", StringComparison.Ordinal) ?? "session";
        return new RemoteHost(session.ComputerName, session.Runspace, owned: false, transport, null);
    }

    /// <summary>Connects (a runspace of its own), or checks that the caller's session can run a command.</summary>
    public void Open(CancellationToken cancel)
    {
        if (!_owned)
        {
            if (_runspace.RunspaceStateInfo.State != RunspaceState.Opened)
            {
                throw new RemoteHostException(RemoteHostProblem.Unreachable,
                    $"The session to {Name} is {_runspace.RunspaceStateInfo.State}{(_runspace.RunspaceStateInfo.Reason is { } r ? $": {r.Message}" : "")}.");
            }

            if (_runspace.RunspaceAvailability is not (RunspaceAvailability.Available or RunspaceAvailability.AvailableForNestedCommand))
            {
                throw new RemoteHostException(RemoteHostProblem.Unreachable, $"The session to {Name} is busy ({_runspace.RunspaceAvailability}).");
            }

            return;
        }

        using CancellationTokenRegistration stop = cancel.Register(Stop);
        if (_sshTarget is not null && WhyUnreachable(_sshTarget, _sshOptions, _connectingTimeout, cancel) is { } why)
        {
            throw new RemoteHostException(RemoteHostProblem.Unreachable, why);
        }

        cancel.ThrowIfCancellationRequested(); // stopped while asking: the runspace was closed by Stop

        try
        {
            _runspace.Open();
        }
        catch (Exception e) when (e is PSRemotingTransportException or PSRemotingDataStructureException or InvalidRunspaceStateException
                                      or System.ComponentModel.Win32Exception or PSInvalidOperationException or RuntimeException or ArgumentException)
        {
            throw new RemoteHostException(RemoteHostProblem.Unreachable, Message(e), inner: e);
        }

        if (_runspace.RunspaceStateInfo.State != RunspaceState.Opened)
        {
            throw new RemoteHostException(RemoteHostProblem.Unreachable,
                _runspace.RunspaceStateInfo.Reason is { } reason ? Message(reason) : $"The connection to {Name} ended ({_runspace.RunspaceStateInfo.State}).");
        }
    }

    /// <summary>Imports the module there by name (as its module path finds it); the version it imported.</summary>
    public Version ImportModule(CancellationToken cancel)
    {
        try
        {
            PSObject? module = Run(ps => ps.AddCommand("Import-Module").AddParameter("Name", ModuleName).AddParameter("PassThru").AddParameter("ErrorAction", "Stop"),
                null, null, null, null, cancel).LastOrDefault();
            ModuleVersion = module?.Properties["Version"]?.Value is { } v && Version.TryParse(v.ToString(), out Version? version) ? version : new Version(0, 0);
            return ModuleVersion;
        }
        catch (RemoteHostException e) when (e.Problem == RemoteHostProblem.ModuleMissing)
        {
            string? path = null;
            try
            {
                path = Run(ps => ps.AddCommand("Get-Item").AddArgument("env:PSModulePath"), null, null, null, null, cancel)
                    .Select(o => o.Properties["Value"]?.Value?.ToString()).FirstOrDefault();
            }
            catch (RemoteHostException)
            {
            }

            throw new RemoteHostException(RemoteHostProblem.ModuleMissing, e.Message, path, e.InnerException);
        }
    }

    /// <summary>
    /// Runs one pipeline there and hands over its objects, errors, warnings and verbose lines as they come (on the
    /// remoting layer's threads). A pipeline that fails as a whole: RemoteHostException (Unreachable when the
    /// connection broke; ModuleMissing when what was run there failed and the caller takes no errors), else its
    /// terminating ErrorRecord goes to <paramref name="error"/>.
    /// </summary>
    public System.Collections.Generic.List<PSObject> Run(Action<PowerShell> build, Action<PSObject>? output, Action<ErrorRecord>? error,
        Action<string>? warning, Action<string>? verbose, CancellationToken cancel)
    {
        using PowerShell ps = PowerShell.Create();
        ps.Runspace = _runspace;
        build(ps);
        var results = new System.Collections.Generic.List<PSObject>();
        var sink = new PSDataCollection<PSObject>();
        sink.DataAdded += (_, e) =>
        {
            PSObject item = sink[e.Index];
            if (output is null)
            {
                lock (results)
                {
                    results.Add(item);
                }
            }
            else
            {
                output(item);
            }
        };
        if (error is not null)
        {
            ps.Streams.Error.DataAdded += (_, e) => error(ps.Streams.Error[e.Index]);
        }

        if (warning is not null)
        {
            ps.Streams.Warning.DataAdded += (_, e) => warning(ps.Streams.Warning[e.Index].Message);
        }

        if (verbose is not null)
        {
            ps.Streams.Verbose.DataAdded += (_, e) => verbose(ps.Streams.Verbose[e.Index].Message);
        }

        lock (_gate)
        {
            if (_stopped)
            {
                throw new OperationCanceledException(cancel);
            }

            _running = ps;
        }

        using CancellationTokenRegistration stop = cancel.Register(() => StopPipeline(ps));
        try
        {
            IAsyncResult pending = ps.BeginInvoke<PSObject, PSObject>(null, sink);
            ps.EndInvoke(pending);
        }
        catch (Exception e) when (e is PSRemotingTransportException or PSRemotingDataStructureException or InvalidRunspaceStateException)
        {
            throw new RemoteHostException(RemoteHostProblem.Unreachable, $"The connection to {Name} broke: {Message(e)}", inner: e);
        }
        catch (PipelineStoppedException) when (cancel.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancel);
        }
        catch (RuntimeException e) when (error is not null && e is not PipelineStoppedException && e.ErrorRecord is { } record)
        {
            // The module ran there and its command refused (a terminating ErrorRecord, e.g. InterfaceNotFound): that
            // host's error, as it wrote it; only a caller that takes no errors (the import) reads it as a missing module.
            error(record);
        }
        catch (RuntimeException e)
        {
            throw new RemoteHostException(RemoteHostProblem.ModuleMissing, Message(e), inner: e);
        }
        finally
        {
            lock (_gate)
            {
                _running = null;
            }
        }

        cancel.ThrowIfCancellationRequested();
        return results;
    }

    /// <summary>Stops what runs there, and closes a runspace of its own: Ctrl+C reaches every host.</summary>
    public void Stop()
    {
        PowerShell? running;
        lock (_gate)
        {
            _stopped = true;
            running = _running;
        }

        if (running is not null)
        {
            StopPipeline(running);
        }

        if (_owned)
        {
            try
            {
                _runspace.CloseAsync();
            }
            catch (Exception e) when (e is InvalidRunspaceStateException or PSInvalidOperationException or PSRemotingTransportException)
            {
            }
        }
    }

    private static void StopPipeline(PowerShell ps)
    {
        try
        {
            ps.BeginStop(null, null);
        }
        catch (Exception e) when (e is InvalidOperationException or PSRemotingTransportException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        if (_owned)
        {
            try
            {
                _runspace.Dispose();
            }
            catch (Exception e) when (e is InvalidRunspaceStateException or PSInvalidOperationException or PSRemotingTransportException)
            {
            }
        }
    }

    // The remote error's own message (an ErrorRecord's, where the exception only wraps it).
    private static string Message(Exception e) =>
        e is IContainsErrorRecord { ErrorRecord: { } record } && !string.IsNullOrEmpty(record.ToString()) ? record.ToString() : e.Message;
}
