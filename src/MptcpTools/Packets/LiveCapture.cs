using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MptcpTools.Packets;

/// <summary>
/// A live capture through libpcap on one or more interfaces ("any" for all), on background threads.
/// Each frame goes to the handler under a lock, so one processor serves every interface.
/// </summary>
public sealed class LiveCapture : IDisposable
{
    private readonly List<LibPcapLiveDevice> _devices = new();
    private readonly List<Thread> _threads = new();
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private long _frames;
    private Exception? _failure;

    public IReadOnlyList<string> Interfaces => _devices.Select(d => d.Name).ToArray();
    public IReadOnlyList<int> LinkTypes => _devices.Select(d => (int)d.LinkType).ToArray();
    public long Frames => Interlocked.Read(ref _frames);
    public Exception? Failure => _failure;

    /// <summary>Opens the interfaces; throws CaptureException with the reason when one cannot be.</summary>
    public static LiveCapture Open(IReadOnlyList<string> interfaces, int snapLength, string? filter)
    {
        if (MptcpTools.Kernel.Capabilities.Has(MptcpTools.Kernel.Capabilities.CAP_NET_RAW) == false)
        {
            throw new CaptureException(CaptureProblem.MissingCapability,
                "Capturing packets needs CAP_NET_RAW, and this process does not have it. Run as root (sudo), or grant the capability: setcap cap_net_raw+ep on the pwsh binary.");
        }

        var capture = new LiveCapture();
        try
        {
            LibPcapLiveDeviceList all;
            try
            {
                all = LibPcapLiveDeviceList.New();
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
            {
                throw CaptureFileReader.LibpcapMissing(e);
            }

            foreach (string name in interfaces)
            {
                LibPcapLiveDevice device = all.FirstOrDefault(d => d.Name == name)
                    ?? throw new CaptureException(CaptureProblem.InterfaceNotFound,
                        $"There is no interface '{name}' to capture on here; there are: {string.Join(", ", all.Select(d => d.Name))}.");
                try
                {
                    device.Open(new DeviceConfiguration
                    {
                        Snaplen = snapLength,
                        Mode = DeviceModes.None,
                        ReadTimeout = 100,
                        BufferSize = 32 * 1024 * 1024,
                        Immediate = true,
                    });
                }
                catch (PcapException e)
                {
                    bool permission = e.Message.Contains("permitted", StringComparison.OrdinalIgnoreCase)
                                      || e.Message.Contains("permission", StringComparison.OrdinalIgnoreCase);
                    throw new CaptureException(permission ? CaptureProblem.MissingCapability : CaptureProblem.CaptureFailed,
                        permission ? $"Capturing on '{name}' needs CAP_NET_RAW: {e.Message}" : $"Could not capture on '{name}': {e.Message}", e);
                }

                capture._devices.Add(device);
                if (!string.IsNullOrWhiteSpace(filter))
                {
                    try
                    {
                        device.Filter = filter;
                    }
                    catch (PcapException e)
                    {
                        throw new CaptureException(CaptureProblem.InvalidFilter, $"The filter '{filter}' is not valid BPF: {e.Message}", e);
                    }
                }
            }

            return capture;
        }
        catch
        {
            capture.Dispose();
            throw;
        }
    }

    /// <summary>Starts one reading thread per interface. The handler runs under a lock.</summary>
    public void Start(FrameHandler handler)
    {
        foreach (LibPcapLiveDevice device in _devices)
        {
            int linkType = (int)device.LinkType;
            var thread = new Thread(() => Pump(device, linkType, handler)) { IsBackground = true, Name = $"capture {device.Name}" };
            _threads.Add(thread);
            thread.Start();
        }
    }

    /// <summary>Stops reading and waits for the threads; returns what the kernel counted.</summary>
    public (long Received, long Dropped, long InterfaceDropped) Stop()
    {
        _stop.Cancel();
        foreach (Thread thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }

        long received = 0, dropped = 0, ifDropped = 0;
        foreach (LibPcapLiveDevice device in _devices.Where(d => d.Opened))
        {
            try
            {
                ICaptureStatistics stats = device.Statistics;
                received += stats.ReceivedPackets;
                dropped += stats.DroppedPackets;
                ifDropped += stats.InterfaceDroppedPackets;
            }
            catch (PcapException)
            {
            }
        }

        return (received, dropped, ifDropped);
    }

    public bool WaitForStop(TimeSpan timeout) => _stop.Token.WaitHandle.WaitOne(timeout);

    private void Pump(LibPcapLiveDevice device, int linkType, FrameHandler handler)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                GetPacketStatus status = device.GetNextPacket(out PacketCapture capture);
                if (status == GetPacketStatus.PacketRead)
                {
                    long number = Interlocked.Increment(ref _frames);
                    // The kernel's clock is a time, but SharpPcap's Date throws for what is not: never trust it.
                    PosixTimeval timeval = capture.Header.Timeval;
                    DateTime timestamp = CaptureTime.TryFromUnix(unchecked((long)timeval.Seconds), timeval.MicroSeconds, 1_000_000, out DateTime t)
                        ? t : DateTime.UtcNow;
                    bool more;
                    lock (_gate)
                    {
                        more = handler(linkType, capture.Data, timestamp, number);
                    }

                    if (!more)
                    {
                        _stop.Cancel();
                    }
                }
                else if (status == GetPacketStatus.Error)
                {
                    throw new CaptureException(CaptureProblem.CaptureFailed, $"Capture on '{device.Name}' failed: {device.LastError}");
                }
            }
        }
        catch (Exception e)
        {
            _failure ??= e;
            _stop.Cancel();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (LibPcapLiveDevice device in _devices)
        {
            try
            {
                device.Close();
            }
            catch (PcapException)
            {
            }
        }

        _stop.Dispose();
    }
}
