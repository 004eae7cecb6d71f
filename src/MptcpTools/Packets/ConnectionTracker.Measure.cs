using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;

namespace MptcpTools.Packets;

// The data level: DSS mappings turn each subflow's bytes into data sequence numbers, which show reinjections
// (data sent on one subflow again on another), how much each subflow carried, and problems with the mappings.
// State is held per subflow and direction and bounded by the data in flight: sent ranges are dropped once the
// receiver's data ACK passes them, mappings once the subflow's ACK does.
public sealed partial class ConnectionTracker
{
    // Past these, the oldest half of a list goes even unacknowledged (a capture that never shows the ACKs).
    private const int PruneAt = 512;
    private const int MaxSentRanges = 1 << 16;
    // A reinjection decided before the data ACK came in can leave after it (a queue on the link: tbf, a busy NIC), and
    // Wireshark keeps every range for ever: a range stays at least this long (capture time) after it was sent.
    private static readonly TimeSpan SentKeep = TimeSpan.FromSeconds(2);
    private const int MaxMappings = 1 << 13;
    private const int MaxProblems = 1000;
    private const int MaxReinjectionRecords = 100_000;
    private const int MaxPriorityRecords = 1000;
    // Disjoint mapped ranges kept per direction; past it the two lowest merge, their hole counted apart.
    private const int MaxCoverageRanges = 1024;

    private readonly long _measureTicks;

    public ConnectionTracker()
    {
    }

    /// <summary>A tracker that also measures the data level, in intervals of <paramref name="measureInterval"/>.</summary>
    public ConnectionTracker(TimeSpan measureInterval)
    {
        if (measureInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(measureInterval), measureInterval, "The interval must be longer than zero.");
        }

        _measureTicks = measureInterval.Ticks;
    }

    public bool Measures => _measureTicks > 0;

    private void MeasureSegment(Subflow flow, Connection connection, bool fromClient, int cd, ref TcpSegmentView segment,
        IReadOnlyList<MptcpOption> options, in DssFields dssOnly, bool hasDssOnly, DateTime timestamp, long frame)
    {
        ConnectionMeasure cm = connection.Measure ??= new ConnectionMeasure();
        FlowMeasure fm = flow.Measure ??= new FlowMeasure();
        DirectionState dir = cm.Direction[cd];
        FlowDirection mine = fm.Direction[cd];
        FlowDirection theirs = fm.Direction[1 - cd];
        TcpFlags flags = segment.Flags;
        bool hasIsn = fromClient ? flow.HasClientIsn : flow.HasServerIsn;
        uint isn = fromClient ? flow.SynSequence : flow.ServerIsn;
        uint relSeq = segment.Sequence - isn;
        int payload = segment.PayloadLength;

        // The subflow ACK of the other direction's bytes lets its old mappings go.
        bool otherHasIsn = fromClient ? flow.HasServerIsn : flow.HasClientIsn;
        if ((flags & TcpFlags.Ack) != 0 && otherHasIsn)
        {
            uint relAck = segment.Acknowledgment - (fromClient ? flow.ServerIsn : flow.SynSequence);
            if (!theirs.HasAck || (int)(relAck - theirs.Ack) > 0)
            {
                theirs.Ack = relAck;
                theirs.HasAck = true;
            }
        }

        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case DssOption dss:
                    MeasureDss(flow, connection, cm, fm, cd, dss.Fields, ref segment, relSeq, hasIsn, timestamp, frame);
                    break;
                case MpCapableOption { Form: MpCapableForm.AckWithData, DataLength: { } dataLength } when hasIsn:
                    // RFC 8684 3.1: the first data may ride on the third ACK's MP_CAPABLE, mapped from the initial data sequence number + 1.
                    if (dir.Idsn(connection, cd) is { } idsn && dataLength > 0)
                    {
                        var first = new Mapping { Ssn = 1, Length = dataLength, Dsn = idsn + 1 };
                        dir.Note(first.Dsn);
                        mine.AddMapping(first);
                        if (!mine.HasMapEnd)
                        {
                            mine.MappedBytes += dataLength;
                            mine.MapEnd = 1U + dataLength;
                            mine.HasMapEnd = true;
                        }

                        dir.Coverage.Add(first.Dsn, first.Dsn + dataLength);
                    }

                    break;
                case MpFailOption fail:
                    // MP_FAIL comes from the receiver of the data whose checksum failed.
                    DirectionState failed = cm.Direction[1 - cd];
                    failed.ChecksumFailures++;
                    AddProblem(cm, MptcpMappingProblemKind.ChecksumFailure, 1 - cd, flow.Stream, frame, timestamp,
                        Relative(connection, 1 - cd, fail.DataSequence), 0, $"MP_FAIL from the receiver: the DSS checksum of the data at {Relative(connection, 1 - cd, fail.DataSequence)} failed.");
                    break;
                case MpPrioOption prio:
                    if (cm.PriorityCount++ < MaxPriorityRecords)
                    {
                        cm.Priorities.Add(new MptcpPriorityChange
                        {
                            Frame = frame, Time = timestamp, Subflow = flow.Stream, From = cd == 0 ? "Client" : "Server",
                            Backup = prio.Backup, AddressId = prio.AddressId,
                        });
                    }

                    break;
            }
        }

        if (hasDssOnly)
        {
            MeasureDss(flow, connection, cm, fm, cd, dssOnly, ref segment, relSeq, hasIsn, timestamp, frame);
        }

        if (payload <= 0 || (flags & TcpFlags.Syn) != 0)
        {
            return;
        }

        fm.FirstData ??= timestamp;
        fm.LastData = timestamp;
        if (flow.Backup)
        {
            fm.BytesWhileBackup += payload;
        }

        ulong dsnEnd = 0;
        bool mapped = false;
        if (hasIsn && mine.FindMapping(relSeq, out Mapping mapping))
        {
            ulong dsn = mapping.Dsn + (relSeq - mapping.Ssn);
            dsnEnd = dsn + (ulong)payload;
            mapped = true;
            FindReinjection(connection, cm, flow, cd, dsn, dsnEnd, payload, timestamp, frame);
            mine.Sent.Add(dsn, dsnEnd, frame, relSeq + (uint)payload, timestamp);
            if (mine.Sent.Count >= mine.Sent.NextPrune)
            {
                PruneSent(connection, dir, cd, timestamp > DateTime.MinValue + SentKeep ? timestamp - SentKeep : DateTime.MinValue);
            }
        }
        else
        {
            dir.UnmappedSegments++;
        }

        // The throughput series: this subflow's bytes in the interval of this segment.
        long bucket = Math.Max(0, (timestamp - connection.First).Ticks / _measureTicks);
        Bucket b = mine.BucketFor(bucket);
        b.Bytes += payload;
        if (mapped && (!b.HasDsn || dsnEnd > b.DsnEnd))
        {
            b.DsnEnd = dsnEnd;
            b.HasDsn = true;
        }
    }

    private void MeasureDss(Subflow flow, Connection connection, ConnectionMeasure cm, FlowMeasure fm, int cd, in DssFields dss,
        ref TcpSegmentView segment, uint relSeq, bool hasIsn, DateTime timestamp, long frame)
    {
        if (dss.DataAck is { } rawAck)
        {
            // A data ACK acknowledges the other direction's data.
            DirectionState acked = cm.Direction[1 - cd];
            ulong ack = dss.DataAckIs8Bytes ? rawAck : Expand(rawAck, acked.Reference(connection, 1 - cd));
            acked.DataAcks++;
            if (!acked.HasAck || (long)(ack - acked.HighestAck) > 0)
            {
                acked.HighestAck = ack;
                acked.HasAck = true;
            }
        }

        if (!dss.HasMapping || dss.DataSequence is not { } rawDsn || dss.SubflowSequence is not { } ssn || dss.DataLength is not { } length)
        {
            return;
        }

        DirectionState dir = cm.Direction[cd];
        FlowDirection mine = fm.Direction[cd];
        ulong dsn = dss.DataSequenceIs8Bytes ? rawDsn : Expand(rawDsn, dir.Reference(connection, cd));
        dir.Note(dsn);
        mine.MappingCount++;
        if (dss.IsInfiniteMapping)
        {
            AddProblem(cm, MptcpMappingProblemKind.InfiniteMapping, cd, flow.Stream, frame, timestamp, Relative(connection, cd, dsn), 0,
                "An infinite mapping (data-level length 0): from here the connection is plain TCP on this subflow.");
            return;
        }

        // A DATA_FIN takes one data sequence number but carries no byte (RFC 8684 3.3.3).
        uint bytes = dss.DataFin ? (uint)Math.Max(0, length - 1) : length;
        if (dss.DataFin)
        {
            dir.DataFin = true;
            dir.DataFinDsn = dsn + length - 1;
            dir.DataFinFrame ??= frame;
        }

        if (cm.ChecksumsRequired(connection) && dss.Checksum is null)
        {
            dir.ChecksumsMissing++;
            if (dir.ChecksumsMissing == 1)
            {
                AddProblem(cm, MptcpMappingProblemKind.ChecksumMissing, cd, flow.Stream, frame, timestamp, Relative(connection, cd, dsn), bytes,
                    "Checksums were negotiated, yet this DSS mapping carries none (the first of its kind; the direction counts them all).");
            }
        }

        if (bytes == 0)
        {
            return;
        }

        if (mine.FindMapping(ssn, out Mapping existing) && existing.Dsn + (ssn - existing.Ssn) != dsn)
        {
            dir.OverlapMismatches++;
            AddProblem(cm, MptcpMappingProblemKind.OverlapMismatch, cd, flow.Stream, frame, timestamp, Relative(connection, cd, dsn), bytes,
                $"Subflow bytes from {ssn} were mapped to data sequence {Relative(connection, cd, existing.Dsn + (ssn - existing.Ssn))} before, and now to {Relative(connection, cd, dsn)}.");
            // The first mapping stands (the receiver keeps it): the conflicting one maps nothing.
            return;
        }

        mine.AddMapping(new Mapping { Ssn = ssn, Length = bytes, Dsn = dsn });
        if (!mine.HasMapEnd || (int)(ssn - mine.MapEnd) >= 0)
        {
            mine.MappedBytes += bytes;
            mine.MapEnd = ssn + bytes;
            mine.HasMapEnd = true;
        }

        dir.Coverage.Add(dsn, dsn + bytes);

        // A checksum can be checked when this segment holds the whole mapping and the capture kept all of it.
        if (dss.Checksum is { } checksum && hasIsn && ssn == relSeq && bytes == segment.PayloadLength && segment.Payload.Length == segment.PayloadLength)
        {
            dir.ChecksumsVerified++;
            if (!DssChecksumHolds(dsn, ssn, length, checksum, segment.Payload))
            {
                dir.ChecksumFailures++;
                AddProblem(cm, MptcpMappingProblemKind.ChecksumFailure, cd, flow.Stream, frame, timestamp, Relative(connection, cd, dsn), bytes,
                    $"The DSS checksum 0x{checksum:x4} does not match the {bytes} bytes of the mapping and its pseudo-header.");
            }
        }
    }

    private static void FindReinjection(Connection connection, ConnectionMeasure cm, Subflow flow, int cd, ulong dsn, ulong dsnEnd, int length,
        DateTime timestamp, long frame)
    {
        List<long>? frames = null;
        List<int>? subflows = null;
        foreach (Subflow other in connection.Subflows)
        {
            if (other == flow || other.Measure is not { } om)
            {
                continue;
            }

            int before = frames?.Count ?? 0;
            om.Direction[cd].Sent.CollectOverlaps(dsn, dsnEnd, ref frames);
            if ((frames?.Count ?? 0) > before)
            {
                (subflows ??= new List<int>()).Add(other.Stream);
                cm.CountPair(cd, other.Stream, flow.Stream, length);
            }
        }

        if (frames is null)
        {
            return;
        }

        DirectionState dir = cm.Direction[cd];
        dir.Reinjections++;
        dir.ReinjectedBytes += length;
        flow.Measure!.ReinjectedSegments++;
        if (cm.Reinjected.Count < MaxReinjectionRecords)
        {
            frames.Sort();
            cm.Reinjected.Add(new MptcpReinjection
            {
                Frame = frame, Time = timestamp, Direction = (MptcpDataDirection)cd, Subflow = flow.Stream,
                OriginalSubflows = subflows!.ToArray(), OriginalFrames = frames.ToArray(),
                DataSequence = Relative(connection, cd, dsn), Length = length,
            });
        }
    }

    // What no subflow can send again: below the data ACK, and below the oldest segment a live subflow may still retransmit.
    private static void PruneSent(Connection connection, DirectionState dir, int cd, DateTime sentBefore)
    {
        if (!dir.HasAck)
        {
            return;
        }

        ulong floor = dir.HighestAck;
        foreach (Subflow s in connection.Subflows)
        {
            if (s.Measure is { } m && !s.Finished && m.Direction[cd].Sent.LowestUnacknowledged(m.Direction[cd].Ack, m.Direction[cd].HasAck) is { } lowest
                && (long)(lowest - floor) < 0)
            {
                floor = lowest;
            }
        }

        foreach (Subflow s in connection.Subflows)
        {
            s.Measure?.Direction[cd].Sent.PruneBelow(floor, sentBefore);
        }
    }

    private static void AddProblem(ConnectionMeasure cm, MptcpMappingProblemKind kind, int cd, int? stream, long? frame, DateTime? time,
        ulong? dsn, long length, string detail)
    {
        if (cm.Problems.Count < MaxProblems)
        {
            cm.Problems.Add(new MptcpMappingProblem
            {
                Kind = kind, Direction = (MptcpDataDirection)cd, Subflow = stream, Frame = frame, Time = time,
                DataSequence = dsn, Length = length, Detail = detail,
            });
        }
    }

    /// <summary>A 32-bit data sequence number or ACK widened to the 64-bit value nearest the reference.</summary>
    internal static ulong Expand(ulong value32, ulong reference)
    {
        ulong candidate = (reference & 0xffffffff00000000UL) | (value32 & 0xffffffffUL);
        long distance = (long)(candidate - reference);
        if (distance > int.MaxValue) candidate -= 1UL << 32;
        else if (distance < int.MinValue) candidate += 1UL << 32;
        return candidate;
    }

    /// <summary>RFC 8684 3.3.1: the ones' complement sum of the pseudo-header (DSN, subflow sequence, data-level length, checksum) and the data is all ones.</summary>
    internal static bool DssChecksumHolds(ulong dsn, uint ssn, ushort dataLength, ushort checksum, ReadOnlySpan<byte> data)
    {
        ulong sum = (dsn >> 48) + ((dsn >> 32) & 0xffff) + ((dsn >> 16) & 0xffff) + (dsn & 0xffff)
            + (ssn >> 16) + (ssn & 0xffff) + dataLength + checksum;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (word >> 48) + ((word >> 32) & 0xffff) + ((word >> 16) & 0xffff) + (word & 0xffff);
        }

        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }

        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }

        while ((sum >> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }

        return sum == 0xffff;
    }

    private static ulong Relative(Connection connection, int cd, ulong dsn) => dsn - connection.Measure!.Direction[cd].Base(connection, cd);

    /// <summary>The MPTCP connections the tracker holds, measured at the data level (a tracker made with an interval).</summary>
    public IEnumerable<MptcpConnectionMeasurement> Measurements(string path = "")
    {
        if (_measureTicks <= 0)
        {
            throw new InvalidOperationException("This tracker was made without a measurement interval.");
        }

        foreach (Connection c in _live.Values.OrderBy(c => c.Id).ToList())
        {
            if (TryMeasure(c, path) is { } measurement)
            {
                yield return measurement;
            }
        }
    }

    /// <summary>The measurements of the MPTCP connections that left the tracker since the last call (<see cref="KeepEnded"/>).</summary>
    public List<MptcpConnectionMeasurement> TakeEndedMeasurements(string path = "")
    {
        var measurements = new List<MptcpConnectionMeasurement>();
        while (_ended.TryDequeue(out Connection? c))
        {
            if (TryMeasure(c, path) is { } measurement)
            {
                measurements.Add(measurement);
            }
        }

        return measurements;
    }

    // Plain TCP, fallbacks at the handshake and connections seen mid-way without DSS have no data level to measure.
    private MptcpConnectionMeasurement? TryMeasure(Connection c, string path)
    {
        MptcpConnectionSummary summary = c.ToSummary();
        if (summary.Outcome is MptcpConnectionOutcome.PlainTcp or MptcpConnectionOutcome.FallbackAtSynAck or MptcpConnectionOutcome.SynUnanswered)
        {
            return null;
        }

        if (summary.Outcome == MptcpConnectionOutcome.Incomplete && !c.Subflows.Any(s => s.SawDss))
        {
            return null;
        }

        return Measure(c, summary, path);
    }

    private MptcpConnectionMeasurement Measure(Connection c, MptcpConnectionSummary summary, string path)
    {
        ConnectionMeasure cm = c.Measure ?? new ConnectionMeasure();
        double interval = TimeSpan.FromTicks(_measureTicks).TotalSeconds;
        var subflows = new List<MptcpSubflowMeasurement>();
        var samples = new List<MptcpThroughputSample>();
        long[] mappedPerDirection = new long[2];
        var connectionBuckets = new SortedDictionary<long, Bucket>[] { new(), new() };
        for (int i = 0; i < c.Subflows.Count; i++)
        {
            Subflow s = c.Subflows[i];
            MptcpSubflowSummary ss = summary.Subflows[i];
            FlowMeasure fm = s.Measure ?? new FlowMeasure();
            var m = new MptcpSubflowMeasurement
            {
                Stream = s.Stream, Initial = ss.Initial, ClientAddress = ss.ClientAddress, ClientPort = ss.ClientPort,
                ServerAddress = ss.ServerAddress, ServerPort = ss.ServerPort, Outcome = ss.Outcome, JoinedAsBackup = s.JoinBackup,
                Backup = s.Backup, MappedBytesFromClient = fm.Direction[0].MappedBytes, MappedBytesFromServer = fm.Direction[1].MappedBytes,
                MappingsFromClient = fm.Direction[0].MappingCount, MappingsFromServer = fm.Direction[1].MappingCount,
                ReinjectedSegments = fm.ReinjectedSegments, BytesWhileBackup = fm.BytesWhileBackup,
                FirstSeen = s.First, LastSeen = s.Last, EstablishedAt = s.EstablishedAt, FirstData = fm.FirstData, LastData = fm.LastData,
            };

            // Payload per side of the connection (the summary counts per side of the subflow).
            bool sameSides = s.InitiatorIsConnectionClient;
            m.PayloadBytesFromClient = sameSides ? ss.PayloadBytesFromClient : ss.PayloadBytesFromServer;
            m.PayloadBytesFromServer = sameSides ? ss.PayloadBytesFromServer : ss.PayloadBytesFromClient;
            m.MappedBytes = m.MappedBytesFromClient + m.MappedBytesFromServer;
            mappedPerDirection[0] += m.MappedBytesFromClient;
            mappedPerDirection[1] += m.MappedBytesFromServer;
            subflows.Add(m);

            for (int d = 0; d < 2; d++)
            {
                foreach ((long index, Bucket b) in fm.Direction[d].Buckets.OrderBy(kv => kv.Key))
                {
                    samples.Add(Sample(c, s.Stream, d, index, b, interval));
                    if (!connectionBuckets[d].TryGetValue(index, out Bucket? total))
                    {
                        connectionBuckets[d][index] = total = new Bucket();
                    }

                    total.Bytes += b.Bytes;
                    if (b.HasDsn && (!total.HasDsn || b.DsnEnd > total.DsnEnd))
                    {
                        total.DsnEnd = b.DsnEnd;
                        total.HasDsn = true;
                    }
                }
            }
        }

        long allMapped = mappedPerDirection[0] + mappedPerDirection[1];
        foreach (MptcpSubflowMeasurement m in subflows)
        {
            m.Share = allMapped > 0 ? (double)m.MappedBytes / allMapped : 0;
            m.ShareFromClient = mappedPerDirection[0] > 0 ? (double)m.MappedBytesFromClient / mappedPerDirection[0] : 0;
            m.ShareFromServer = mappedPerDirection[1] > 0 ? (double)m.MappedBytesFromServer / mappedPerDirection[1] : 0;
        }

        for (int d = 0; d < 2; d++)
        {
            foreach ((long index, Bucket b) in connectionBuckets[d])
            {
                samples.Add(Sample(c, null, d, index, b, interval));
            }
        }

        var directions = new MptcpDirectionMeasurement[2];
        var problems = new List<MptcpMappingProblem>(cm.Problems);
        for (int d = 0; d < 2; d++)
        {
            DirectionState ds = cm.Direction[d];
            ulong baseDsn = ds.Base(c, d);
            var dm = new MptcpDirectionMeasurement
            {
                Direction = (MptcpDataDirection)d,
                InitialDataSequence = ds.Idsn(c, d),
                BytesCovered = ds.Coverage.Bytes,
                MappedBytes = mappedPerDirection[d],
                FirstDataSequence = ds.Coverage.Count > 0 ? ds.Coverage.First - baseDsn : null,
                LastDataSequence = ds.Coverage.Count > 0 ? ds.Coverage.Last - baseDsn : null,
                DataAcked = ds.HasAck ? ds.HighestAck - baseDsn : null,
                DataAcks = ds.DataAcks,
                DataFin = ds.DataFin,
                DataFinSequence = ds.DataFin ? ds.DataFinDsn - baseDsn : null,
                DataFinFrame = ds.DataFinFrame,
                Reinjections = ds.Reinjections,
                ReinjectedBytes = ds.ReinjectedBytes,
                UnmappedSegments = ds.UnmappedSegments,
                ChecksumsVerified = ds.ChecksumsVerified,
                ChecksumFailures = ds.ChecksumFailures,
            };
            // Data the DATA_FIN (or the data ACK) says was sent past the last mapping seen: the capture missed it.
            var holes = ds.Coverage.Holes().ToList();
            if (ds.Coverage.Count > 0)
            {
                ulong expectedEnd = ds.DataFin ? ds.DataFinDsn : ds.HasAck ? ds.HighestAck : ds.Coverage.Last;
                if ((long)(expectedEnd - ds.Coverage.Last) > 0)
                {
                    holes.Add((ds.Coverage.Last, expectedEnd));
                }
            }

            // Holes merged away to keep the ranges bounded count all the same (no problem record: past the first thousand anyway).
            dm.Gaps += ds.Coverage.MergedHoles;
            dm.GapBytes += ds.Coverage.MergedHoleBytes;
            foreach ((ulong start, ulong end) in holes)
            {
                dm.Gaps++;
                dm.GapBytes += (long)(end - start);
                if (problems.Count < MaxProblems)
                {
                    problems.Add(new MptcpMappingProblem
                    {
                        Kind = MptcpMappingProblemKind.Gap, Direction = (MptcpDataDirection)d, DataSequence = start - baseDsn,
                        Length = (long)(end - start), Detail = $"No mapping in the capture covered data sequence {start - baseDsn} to {end - baseDsn}.",
                    });
                }
            }

            directions[d] = dm;
        }

        return new MptcpConnectionMeasurement
        {
            Path = path, Id = c.Id, Outcome = summary.Outcome, Version = summary.Version, ClientAddress = summary.ClientAddress,
            ClientPort = summary.ClientPort, ServerAddress = summary.ServerAddress, ServerPort = summary.ServerPort,
            ClientKey = summary.ClientKey, ServerKey = summary.ServerKey, ChecksumsRequired = c.ChecksumsRequired,
            Subflows = subflows.ToArray(), Directions = directions,
            Reinjections = directions[0].Reinjections + directions[1].Reinjections,
            ReinjectionPairs = cm.Pairs.Values.OrderBy(p => p.Direction).ThenBy(p => p.FromSubflow).ThenBy(p => p.ToSubflow).ToArray(),
            ReinjectedSegments = cm.Reinjected.ToArray(),
            MappingProblems = problems.ToArray(),
            PriorityChanges = cm.Priorities.ToArray(),
            PriorityChangeCount = cm.PriorityCount,
            Throughput = samples.ToArray(),
            IntervalSeconds = interval,
            Packets = summary.Packets,
            FirstSeen = summary.FirstSeen,
            LastSeen = summary.LastSeen,
        };
    }

    private MptcpThroughputSample Sample(Connection c, int? stream, int d, long index, Bucket b, double interval)
    {
        ulong baseDsn = c.Measure?.Direction[d].Base(c, d) ?? 0;
        return new MptcpThroughputSample
        {
            Connection = c.Id, Subflow = stream, Direction = (MptcpDataDirection)d,
            Start = c.First + TimeSpan.FromTicks(index * _measureTicks), Offset = index * interval, IntervalSeconds = interval,
            Bytes = b.Bytes, BitsPerSecond = b.Bytes * 8 / interval, DataSequence = b.HasDsn ? b.DsnEnd - baseDsn : null,
        };
    }

    private struct Mapping
    {
        public uint Ssn;
        public uint Length;
        public ulong Dsn;
    }

    private sealed class Bucket
    {
        public long Bytes;
        public ulong DsnEnd;
        public bool HasDsn;
    }

    /// <summary>
    /// Data ranges one subflow sent in one direction, sorted by start. As in Wireshark's analysis, a later segment that
    /// starts at the same data sequence number takes the earlier one's place (its frame; the range stays the first
    /// one's). Ranges go once no subflow can send them
    /// again: below the data ACK and below every live subflow's oldest unacknowledged segment, and sent more than
    /// <see cref="SentKeep"/> before.
    /// </summary>
    private sealed class SentRanges
    {
        private readonly List<(ulong Start, ulong End, long Frame, uint SsnEnd, DateTime Time)> _items = new();
        private int _head;
        private ulong _longest;

        public int Count => _items.Count - _head;
        public int NextPrune = PruneAt;

        public void Add(ulong start, ulong end, long frame, uint ssnEnd, DateTime time)
        {
            if (Count >= MaxSentRanges)
            {
                _head += Count / 2;
            }

            if (_head > 0 && _head >= _items.Count / 2)
            {
                _items.RemoveRange(0, _head);
                _head = 0;
            }

            _longest = Math.Max(_longest, end - start);
            var item = (start, end, frame, ssnEnd, time);
            if (Count == 0 || _items[^1].Start < start)
            {
                _items.Add(item);
                return;
            }

            int at = LowerBound(start);
            if (at < _items.Count && _items[at].Start == start)
            {
                // Wireshark's interval tree keeps the first range at a start and hands its node to the later frame.
                _items[at] = (start, _items[at].End, frame, Math.Max(_items[at].SsnEnd, ssnEnd), time > _items[at].Time ? time : _items[at].Time);
            }
            else
            {
                _items.Insert(at, item);
            }
        }

        /// <summary>The lowest start among the segments the subflow has not had acknowledged (all, without an ACK).</summary>
        public ulong? LowestUnacknowledged(uint ack, bool hasAck)
        {
            ulong? lowest = null;
            for (int i = _head; i < _items.Count; i++)
            {
                if (!hasAck || (int)(_items[i].SsnEnd - ack) > 0)
                {
                    lowest = lowest is { } l ? Math.Min(l, _items[i].Start) : _items[i].Start;
                }
            }

            return lowest;
        }

        public void PruneBelow(ulong floor, DateTime sentBefore)
        {
            while (_head < _items.Count && (long)(_items[_head].End - floor) <= 0 && _items[_head].Time < sentBefore)
            {
                _head++;
            }

            // Never past the cap: Count cannot grow beyond it, and pruning would stop for good.
            NextPrune = Math.Min(MaxSentRanges, Math.Max(PruneAt, 2 * Count));
        }

        public void CollectOverlaps(ulong start, ulong end, ref List<long>? frames)
        {
            if (Count == 0)
            {
                return;
            }

            for (int i = LowerBound(start > _longest ? start - _longest : 0); i < _items.Count && _items[i].Start < end; i++)
            {
                if (_items[i].End > start)
                {
                    (frames ??= new List<long>()).Add(_items[i].Frame);
                }
            }
        }

        // The first live index whose start is at least the value.
        private int LowerBound(ulong value)
        {
            int lo = _head, hi = _items.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_items[mid].Start < value) lo = mid + 1;
                else hi = mid;
            }

            return lo;
        }
    }

    /// <summary>The data sequence ranges mapped in one direction, merged; the holes between them are gaps.</summary>
    private sealed class Coverage
    {
        private readonly List<(ulong Start, ulong End)> _ranges = new();

        public int Count => _ranges.Count;
        public ulong First => _ranges[0].Start;
        public ulong Last => _ranges[^1].End;

        public long MergedHoles;
        public long MergedHoleBytes;

        public long Bytes
        {
            get
            {
                long total = 0;
                foreach ((ulong s, ulong e) in _ranges) total += (long)(e - s);
                return total - MergedHoleBytes;
            }
        }

        public void Add(ulong start, ulong end)
        {
            if (_ranges.Count > 0)
            {
                (ulong ls, ulong le) = _ranges[^1];
                if (start >= ls && start <= le)
                {
                    if (end > le) _ranges[^1] = (ls, end);
                    return;
                }
            }

            // Out of order: insert where a binary search says, then merge with the neighbours it touches.
            int lo = 0, hi = _ranges.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_ranges[mid].Start < start) lo = mid + 1;
                else hi = mid;
            }

            int at = lo;
            _ranges.Insert(at, (start, end));
            int first = at > 0 && _ranges[at - 1].End >= start ? at - 1 : at;
            ulong mergedStart = _ranges[first].Start, mergedEnd = _ranges[first].End;
            int last = first;
            while (last + 1 < _ranges.Count && _ranges[last + 1].Start <= mergedEnd)
            {
                last++;
                mergedEnd = Math.Max(mergedEnd, _ranges[last].End);
            }

            mergedEnd = Math.Max(mergedEnd, _ranges[first].End);
            _ranges.RemoveRange(first, last - first + 1);
            _ranges.Insert(first, (mergedStart, mergedEnd));
            if (_ranges.Count > MaxCoverageRanges)
            {
                // The two lowest become one; the hole between them is counted, and its bytes are not coverage.
                MergedHoles++;
                MergedHoleBytes += (long)(_ranges[1].Start - _ranges[0].End);
                _ranges[1] = (_ranges[0].Start, _ranges[1].End);
                _ranges.RemoveAt(0);
            }
        }

        public IEnumerable<(ulong Start, ulong End)> Holes()
        {
            for (int i = 1; i < _ranges.Count; i++)
            {
                yield return (_ranges[i - 1].End, _ranges[i].Start);
            }
        }
    }

    private sealed class FlowDirection
    {
        private readonly List<Mapping> _mappings = new();
        private int _nextPrune = PruneAt;
        private long _lastIndex = -1;
        private Bucket? _last;

        public readonly SentRanges Sent = new();
        public readonly Dictionary<long, Bucket> Buckets = new();
        public uint Ack;
        public bool HasAck;
        public uint MapEnd;
        public bool HasMapEnd;
        public long MappedBytes, MappingCount;

        public Bucket BucketFor(long index)
        {
            if (index == _lastIndex && _last is not null)
            {
                return _last;
            }

            if (!Buckets.TryGetValue(index, out Bucket? b))
            {
                Buckets[index] = b = new Bucket();
            }

            _lastIndex = index;
            _last = b;
            return b;
        }

        public void AddMapping(Mapping mapping)
        {
            // Pruned when the list has doubled since the last time, so a subflow whose ACKs stall costs no scan per mapping.
            if (_mappings.Count >= _nextPrune && HasAck)
            {
                _mappings.RemoveAll(m => (int)(m.Ssn + m.Length - Ack) <= 0);
                _nextPrune = Math.Max(PruneAt, 2 * _mappings.Count);
            }

            if (_mappings.Count >= MaxMappings)
            {
                _mappings.RemoveRange(0, _mappings.Count / 2);
            }

            // A repeated mapping (a retransmission, or GSO copies of one) replaces nothing: keep one.
            if (_mappings.Count > 0 && _mappings[^1].Ssn == mapping.Ssn && _mappings[^1].Dsn == mapping.Dsn && _mappings[^1].Length == mapping.Length)
            {
                return;
            }

            _mappings.Add(mapping);
        }

        /// <summary>The most recent mapping that covers this relative subflow sequence number.</summary>
        public bool FindMapping(uint relSeq, out Mapping mapping)
        {
            for (int i = _mappings.Count - 1; i >= 0; i--)
            {
                Mapping m = _mappings[i];
                if (relSeq - m.Ssn < m.Length)
                {
                    mapping = m;
                    return true;
                }
            }

            mapping = default;
            return false;
        }
    }

    private sealed class FlowMeasure
    {
        public readonly FlowDirection[] Direction = { new(), new() };
        public long ReinjectedSegments, BytesWhileBackup;
        public DateTime? FirstData;
        public DateTime? LastData;
    }

    private sealed class DirectionState
    {
        private ulong? _idsn;
        private bool _idsnKnown;
        private ulong _firstDsn;
        private bool _sawDsn;
        private ulong _lastDsn;

        public readonly Coverage Coverage = new();
        public ulong HighestAck;
        public bool HasAck;
        public long DataAcks, Reinjections, ReinjectedBytes, UnmappedSegments, ChecksumsVerified, ChecksumFailures, ChecksumsMissing, OverlapMismatches;
        public bool DataFin;
        public ulong DataFinDsn;
        public long? DataFinFrame;

        public void Note(ulong dsn)
        {
            if (!_sawDsn)
            {
                _firstDsn = dsn;
                _sawDsn = true;
            }

            _lastDsn = dsn;
        }

        /// <summary>The initial data sequence number, from the sender's key (RFC 8684 3.1).</summary>
        public ulong? Idsn(Connection c, int d)
        {
            if (!_idsnKnown && (d == 0 ? c.ClientKey : c.ServerKey) is { } key)
            {
                _idsn = MptcpKeys.InitialDataSequence(key, c.Version ?? 1);
                _idsnKnown = true;
            }

            return _idsn;
        }

        /// <summary>Relative numbers count from the initial data sequence number, or from just before the first seen.</summary>
        public ulong Base(Connection c, int d) => Idsn(c, d) ?? (_sawDsn ? _firstDsn - 1 : 0);

        /// <summary>Where a 32-bit number of this direction most likely lies.</summary>
        public ulong Reference(Connection c, int d) => _sawDsn ? _lastDsn : HasAck ? HighestAck : Idsn(c, d) ?? 0;
    }

    private sealed class ConnectionMeasure
    {
        public readonly DirectionState[] Direction = { new(), new() };
        public readonly List<MptcpMappingProblem> Problems = new();
        public readonly List<MptcpPriorityChange> Priorities = new();
        public long PriorityCount;
        public readonly List<MptcpReinjection> Reinjected = new();
        public readonly Dictionary<(int, int, int), MptcpReinjectionPair> Pairs = new();

        public bool ChecksumsRequired(Connection c) => c.ChecksumsRequired;

        public void CountPair(int cd, int from, int to, int bytes)
        {
            if (!Pairs.TryGetValue((cd, from, to), out MptcpReinjectionPair? pair))
            {
                Pairs[(cd, from, to)] = pair = new MptcpReinjectionPair { Direction = (MptcpDataDirection)cd, FromSubflow = from, ToSubflow = to };
            }

            pair.Segments++;
            pair.Bytes += bytes;
        }
    }
}
