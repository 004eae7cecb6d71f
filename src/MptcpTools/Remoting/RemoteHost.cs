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
    /// <summary>What went wrong with this host, as the rules judge it.</summary>
    public RemoteHostFailure Failure(RemoteHostException e) => new()
    {
        ComputerName = Name, Problem = e.Problem, Reason = e.Message, Transport = Transport, UserName = UserName, ModulePath = e.ModulePath,
    };

    /// <summary>The version of the module imported there, once <see cref="ImportModule"/> succeeded.</summary>
    public Version? ModuleVersion { get; private set; }

    /// <summary>A host reached over SSH, as Invoke-Command -HostName reaches it; not connected until <see cref="Open"/>.</summary>
    public static RemoteHost ForSsh(SshTarget target, string? keyFilePath, Hashtable? options, TimeSpan connectingTimeout) =>
        new(target.Name, RunspaceFactory.CreateRunspace(target.ConnectionInfo(keyFilePath, options, connectingTimeout)), owned: true, "SSH", target.UserName)
        {
            _sshTarget = target,
            _sshOptions = options,
            _connectingTimeout = connectingTimeout,
            _keyFilePath = keyFilePath,
        };

    private SshTarget? _sshTarget;
    private Hashtable? _sshOptions;
    private TimeSpan _connectingTimeout;
    private string? _keyFilePath;

    /// <summary>
    /// Why ssh could not reach <paramref name="target"/>, asked before pwsh starts it: an argument pwsh would cut at a
    /// space, a name or user ssh refuses (ssh -G with the arguments pwsh gives it, so aliases, HostName lines, Match
    /// blocks and -Options count), a host name that is no host name or does not resolve here, or no address of it
    /// that answers on the SSH port within the connecting timeout. Null when all is well, or when ssh would connect
    /// some other way (a ProxyJump, a ProxyCommand, a bound source, a control master). pwsh's SSH transport can end
    /// the whole process when ssh exits at once (an unhandled IOException on its error thread), so what cannot work
    /// never reaches it. The probe is one TCP connection, closed at once: sshd logs it as a connection closed before
    /// authentication.
    /// </summary>
    internal static string? WhyUnreachable(SshTarget target, string? keyFilePath, Hashtable? options, TimeSpan connectingTimeout, CancellationToken stop)
    {
        // As pwsh builds ssh's arguments: DOMAIN\user as user@DOMAIN, then -l, -p, -o KEY=VALUE.
        string? user = target.UserName;
        if (user is not null && user.Split('\\') is { Length: 2 } parts)
        {
            user = $"{parts[1]}@{parts[0]}";
        }

        var arguments = new System.Collections.Generic.List<(string What, string Value)>();
        if (!string.IsNullOrEmpty(user))
        {
            arguments.Add(("-l", user));
        }

        if (target.Port > 0)
        {
            arguments.Add(("-p", target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        foreach (DictionaryEntry option in options ?? new Hashtable())
        {
            arguments.Add(("-o", string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0}={1}", option.Key, option.Value)));
        }

        // On Linux pwsh joins ssh's arguments and splits them again at spaces: a value with one reaches ssh cut in two.
        foreach ((string what, string value) in arguments.Append(("-i", keyFilePath ?? "")))
        {
            if (value.Any(char.IsWhiteSpace))
            {
                string name = what switch { "-l" => "the user", "-i" => "the key file path", _ => "the ssh option" };
                return $"{name} '{value}' has a space, and pwsh's SSH transport hands ssh its arguments split at spaces: put it in ~/.ssh/config (a Host block) instead.";
            }
        }

        var start = new System.Diagnostics.ProcessStartInfo("ssh")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach ((string what, string value) in arguments)
        {
            start.ArgumentList.Add(what);
            start.ArgumentList.Add(value);
        }

        start.ArgumentList.Add("-G");
        start.ArgumentList.Add("--"); // a name that starts with '-' is a host, never an option
        start.ArgumentList.Add(target.HostName);
        string output;
        try
        {
            using var ssh = System.Diagnostics.Process.Start(start)!;
            ssh.StandardInput.Close();
            var stdout = ssh.StandardOutput.ReadToEndAsync();
            var stderr = ssh.StandardError.ReadToEndAsync();
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);
            wait.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                ssh.WaitForExitAsync(wait.Token).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                ssh.Kill(true);
                return null; // stopped, or ssh -G is slow (a Match exec): ssh will say for itself
            }

            output = stdout.GetAwaiter().GetResult();
            if (ssh.ExitCode != 0)
            {
                return stop.IsCancellationRequested ? null
                    : $"ssh cannot use the name '{target.HostName}'{(string.IsNullOrEmpty(user) ? "" : $" with the user '{user}'")}: {stderr.GetAwaiter().GetResult().Trim()}";
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"ssh could not be started: {e.Message}";
        }

        // "key value" lines; the first of a key counts, as ssh reads it.
        var settings = new System.Collections.Generic.Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in output.Split('\n'))
        {
            string[] pair = line.Trim().Split(' ', 2);
            if (pair.Length == 2)
            {
                settings.TryAdd(pair[0], pair[1]);
            }
        }

        string? Value(string key) => settings.TryGetValue(key, out string? v) ? v : null;
        bool Set(string key) => Value(key) is { } v && v is not ("none" or "false" or "no");
        if (Set("proxyjump") || Set("proxycommand") || Set("bindaddress") || Set("bindinterface") || Set("controlpath"))
        {
            return null;
        }

        string host = Value("hostname") ?? target.HostName;
        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            return $"'{host}' is not a host name or an address ssh can connect to.";
        }

        System.Net.IPAddress[] addresses;
        try
        {
            addresses = MptcpTools.Host.NameResolution.ResolveAll(host, stop);
        }
        catch (MptcpTools.Host.NameResolutionException e)
        {
            return e.Message;
        }

        // As ssh: only the family AddressFamily allows, each address in turn, all within the connecting timeout.
        addresses = Value("addressfamily") switch
        {
            "inet" => addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToArray(),
            "inet6" => addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).ToArray(),
            _ => addresses,
        };
        if (addresses.Length == 0)
        {
            return $"'{host}' has no address of the family ssh is set to use ({Value("addressfamily")}).";
        }

        int port = int.TryParse(Value("port"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int p) && p is > 0 and <= 65535
            ? p : target.Port > 0 ? target.Port : 22;
        TimeSpan limit = connectingTimeout > TimeSpan.Zero ? connectingTimeout : TimeSpan.FromSeconds(30);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(limit);
        var failures = new System.Collections.Generic.List<string>();
        foreach (System.Net.IPAddress address in addresses)
        {
            try
            {
                using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                probe.ConnectAsync(new System.Net.IPEndPoint(address, port), deadline.Token).AsTask().GetAwaiter().GetResult();
                return null;
            }
            catch (System.Net.Sockets.SocketException e)
            {
                failures.Add(host == address.ToString() ? e.Message : $"{address}: {e.Message}");
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                return $"nothing answers SSH on {host} port {port} within {limit.TotalSeconds:0.#} s (-ConnectingTimeout).";
            }
        }

        return $"nothing answers SSH on {host} port {port}: {string.Join("; ", failures)}";
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
        if (_sshTarget is not null && WhyUnreachable(_sshTarget, _keyFilePath, _sshOptions, _connectingTimeout, cancel) is { } why)
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
