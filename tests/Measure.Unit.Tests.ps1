# The data level without root: Measure-MptcpCapture and Compare-MptcpCapture on crafted captures whose every
# mapping, reinjection, gap and rewrite is known by construction, and Measure-MptcpCapture against tshark's MPTCP
# analysis on the same files (the crafted ones and the tcpdump corpus).
BeforeDiscovery {
    $corpus = @(Get-ChildItem (Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump') -Filter *.pcap | ForEach-Object { @{ Name = $_.Name; Pcap = $_.FullName } })
    $shared = Join-Path $PSScriptRoot '../../shared/corpus'
    if (Test-Path $shared) {
        # The shared corpus's captures that the copy in Fixtures does not already hold.
        $known = @($corpus | ForEach-Object { (Get-FileHash $_.Pcap).Hash })
        $corpus += @(Get-ChildItem $shared -Recurse -Include *.pcap, *.pcapng | Where-Object { (Get-FileHash $_.FullName).Hash -notin $known } |
            ForEach-Object { @{ Name = "shared/$($_.Name)"; Pcap = $_.FullName } })
    }
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')
    $noTshark = -not (Test-Tshark)
    if ($noTshark -and $env:CI -eq 'true') { throw 'tshark is needed for the reference comparisons under CI=true (tools/Install-Prerequisites.ps1 installs it).' }
}

BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')

    # The crafted connection (tests/Support/MeasureSupport.ps1 says what each frame holds).
    $crafting = Get-CraftedConnection
    $clientKey = $crafting.ClientKey; $serverKey = $crafting.ServerKey; $idsn = $crafting.Idsn; $token = $crafting.Token; $hosts = $crafting.Hosts; $rows = $crafting.Rows
    $kc = ConvertTo-HexBytes $clientKey 8; $ks = ConvertTo-HexBytes $serverKey 8
    $crafted = Join-Path $TestDrive 'two-subflows.pcap'
    Write-CraftedCapture $crafted $rows $hosts
}

Describe 'Measure-MptcpCapture on a crafted two-subflow connection' {
    BeforeAll {
        $m = @(Measure-MptcpCapture -LiteralPath $crafted)
        $client = $m[0].Directions | Where-Object Direction -eq 'ClientToServer'
    }

    It 'writes one connection with both subflows' {
        $m.Count | Should -Be 1
        $m[0].Subflows.Count | Should -Be 2
        $m[0].ClientKey | Should -Be $clientKey
        $client.InitialDataSequence | Should -Be $idsn
    }

    It 'counts the one reinjection, on subflow 1, of frame 9 on subflow 0' {
        $m[0].Reinjections | Should -Be 1
        $r = $m[0].ReinjectedSegments
        @($r).Count | Should -Be 1
        $r[0].Frame | Should -Be 10
        $r[0].Subflow | Should -Be 1
        $r[0].OriginalSubflows | Should -Be @(0)
        $r[0].OriginalFrames | Should -Be @(9)
        $r[0].DataSequence | Should -Be 2001
        $r[0].Length | Should -Be 1000
        $pair = @($m[0].ReinjectionPairs)
        $pair.Count | Should -Be 1
        $pair[0].FromSubflow | Should -Be 0; $pair[0].ToSubflow | Should -Be 1; $pair[0].Bytes | Should -Be 1000
        ($m[0].Subflows | Where-Object Stream -eq 1).ReinjectedSegments | Should -Be 1
    }

    It 'maps each subflow''s bytes once, and gives each its share' {
        $s0 = $m[0].Subflows | Where-Object Stream -eq 0; $s1 = $m[0].Subflows | Where-Object Stream -eq 1
        $s0.MappedBytesFromClient | Should -Be 2500 -Because 'the re-mapped 500 bytes at subflow sequence 2001 count once'
        $s1.MappedBytesFromClient | Should -Be 2000
        $s0.Share | Should -BeGreaterThan 0.5555; $s0.Share | Should -BeLessThan 0.5556
        ($s0.Share + $s1.Share) | Should -Be 1
        $s0.PayloadBytesFromClient | Should -Be 3000
        $s0.MappingsFromClient | Should -Be 5
        $client.MappedBytes | Should -Be 4500
    }

    It 'covers the data sequence space once, and names the gap at 3001' {
        $client.BytesCovered | Should -Be 3500
        $client.Gaps | Should -Be 1
        $client.GapBytes | Should -Be 1000
        $gap = @($m[0].MappingProblems | Where-Object Kind -eq 'Gap')
        $gap.Count | Should -Be 1
        $gap[0].DataSequence | Should -Be 3001
        $gap[0].Length | Should -Be 1000
    }

    It 'names the inconsistent overlap at frame 13, and keeps the first mapping' {
        $o = @($m[0].MappingProblems | Where-Object Kind -eq 'OverlapMismatch')
        $o.Count | Should -Be 1
        $o[0].Frame | Should -Be 13
        $o[0].Subflow | Should -Be 0
        $o[0].Detail | Should -Match '4001.*9001'
        $client.LastDataSequence | Should -Be 4501
    }

    It 'sees the DATA_FIN, the data ACK, and the MP_PRIO' {
        $client.DataFin | Should -BeTrue
        $client.DataFinSequence | Should -Be 4501
        $client.DataFinFrame | Should -Be 14
        $client.DataAcked | Should -Be 4502
        $p = @($m[0].PriorityChanges)
        $p.Count | Should -Be 1
        $p[0].Subflow | Should -Be 1; $p[0].Backup | Should -BeTrue; $p[0].From | Should -Be 'Client'; $p[0].Frame | Should -Be 11
        ($m[0].Subflows | Where-Object Stream -eq 1).Backup | Should -BeTrue
        ($m[0].Subflows | Where-Object Stream -eq 1).JoinedAsBackup | Should -BeFalse
    }

    It 'sums each subflow''s bytes per interval, and the connection''s' {
        $t = $m[0].Throughput | Where-Object Direction -eq 'ClientToServer'
        ($t | Where-Object Subflow -eq 0 | Measure-Object Bytes -Sum).Sum | Should -Be 3000
        ($t | Where-Object Subflow -eq 1 | Measure-Object Bytes -Sum).Sum | Should -Be 2000
        ($t | Where-Object { $null -eq $_.Subflow } | Measure-Object Bytes -Sum).Sum | Should -Be 5000
        $first = $t | Where-Object { $null -eq $_.Subflow } | Select-Object -First 1
        # Frames 7 to 10 (at 60 to 90 ms) fall in the first 100 ms, 12 and 13 in the next.
        $first.Bytes | Should -Be 4000
        $first.BitsPerSecond | Should -Be (4000 * 8 / 0.1)
        $first.DataSequence | Should -Be 3001
    }

    It 'splits the series by -Interval' {
        $fine = Measure-MptcpCapture -LiteralPath $crafted -Interval 0.02
        @($fine.Throughput | Where-Object { $_.Subflow -eq 0 -and $_.Direction -eq 'ClientToServer' }).Offset | Should -Be @(0.06, 0.08, 0.1, 0.12)
        $fine.IntervalSeconds | Should -Be 0.02
    }

    It 'agrees with tshark''s mptcp.reinjection_of, payload bytes and DSS mappings' -Skip:$noTshark {
        $tshark = Get-TsharkMptcp $crafted
        $tshark.Reinjections | Should -Be $m[0].Reinjections
        $tshark.ReinjectionFrames | Should -Be @($m[0].ReinjectedSegments.Frame)
        $ours = Get-OurPerSource $m[0]
        foreach ($key in $tshark.Bytes.Keys) { $ours.Bytes[$key] | Should -Be $tshark.Bytes[$key] -Because "payload of $key" }
        foreach ($key in $tshark.Mappings.Keys) { $ours.Mappings[$key] | Should -Be $tshark.Mappings[$key] -Because "mappings of $key" }
    }
}

Describe 'A reinjection that leaves after the data ACK of what it repeats (queued on its link)' {
    BeforeAll {
        # 600 segments of 100 bytes on the first subflow, each data-ACKed at once (so the tracker may let them go),
        # then, 50 ms after the last ACK, subflow 2 sends the first one's bytes again: a reinjection decided before the
        # ACK came in that waited in a queue. Wireshark keeps every range, so it marks it; so must we.
        $j = $crafting.Rows[0..5]
        $late = [Collections.Generic.List[hashtable]]::new()
        foreach ($r in $j) { $late.Add($r.Clone()) }
        for ($k = 0; $k -lt 600; $k++) {
            $late.Add(@{ From = 'c'; Flags = 'Ack'; Seq = 1001 + 100 * $k; Ack = 5001; Len = 100; Opt = (New-DssOption -Dsn ($idsn + 1 + 100 * $k) -Ssn (1 + 100 * $k) -Length 100) })
            $late.Add(@{ From = 's'; To = 'c'; Flags = 'Ack'; Seq = 5001; Ack = 1101 + 100 * $k; Len = 0; Opt = (New-DssOption -Ack ($idsn + 101 + 100 * $k)) })
        }
        $late.Add(@{ From = 'j'; Flags = 'Ack'; Seq = 2001; Ack = 6001; Len = 100; Opt = (New-DssOption -Dsn ($idsn + 1) -Ssn 1 -Length 100) })
        for ($i = 0; $i -lt $late.Count; $i++) { $late[$i].T = $i * 0.0005 }
        $late[-1].T = $late[-2].T + 0.05
        $lateFile = Join-Path $TestDrive 'late-reinjection.pcap'
        Write-CraftedCapture $lateFile $late $hosts
        $lm = @(Measure-MptcpCapture -LiteralPath $lateFile)
    }

    It 'counts it, with the first segment as its original' {
        $lm.Count | Should -Be 1
        $lm[0].Reinjections | Should -Be 1
        $lm[0].ReinjectedSegments[0].Frame | Should -Be $late.Count
        $lm[0].ReinjectedSegments[0].OriginalFrames | Should -Be @(7)
        $lm[0].ReinjectedSegments[0].DataSequence | Should -Be 1
    }

    It 'agrees with tshark on it' -Skip:$noTshark {
        Assert-SameAsTshark $lateFile $lm
    }
}

Describe 'DSS checksums in a crafted capture' {
    BeforeAll {
        # Checksums negotiated (flag A); three mappings of 100 zero bytes: one with the right checksum, one with a wrong one, one with none.
        $hosts2 = @{ c = @('192.0.2.2', 40010); s = @('203.0.113.2', 5201) }
        $good = Get-DssChecksum ($idsn + 1) 1 100
        $rows2 = @(
            @{ From = 'c'; Flags = 'Syn'; Seq = 100; Ack = 0; Len = 0; Opt = '1e 04 01 81' }
            @{ From = 's'; To = 'c'; Flags = 'Syn,Ack'; Seq = 700; Ack = 101; Len = 0; Opt = "1e 0c 01 81 $ks" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 101; Ack = 701; Len = 0; Opt = "1e 14 01 81 $kc $ks" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 101; Ack = 701; Len = 100; Opt = (New-DssOption -Dsn ($idsn + 1) -Ssn 1 -Length 100 -Checksum $good) }
            @{ From = 'c'; Flags = 'Ack'; Seq = 201; Ack = 701; Len = 100; Opt = (New-DssOption -Dsn ($idsn + 101) -Ssn 101 -Length 100 -Checksum $good) }
            @{ From = 'c'; Flags = 'Ack'; Seq = 301; Ack = 701; Len = 100; Opt = (New-DssOption -Dsn ($idsn + 201) -Ssn 201 -Length 100) }
        )
        for ($i = 0; $i -lt $rows2.Count; $i++) { $rows2[$i].T = $i * 0.01 }
        $file = Join-Path $TestDrive 'checksums.pcap'
        Write-CraftedCapture $file $rows2 $hosts2
        $c = Measure-MptcpCapture -LiteralPath $file
        $d = $c.Directions | Where-Object Direction -eq 'ClientToServer'
    }

    It 'checks the two checksums it can, and finds the wrong one' {
        $c.ChecksumsRequired | Should -BeTrue
        $d.ChecksumsVerified | Should -Be 2
        $d.ChecksumFailures | Should -Be 1
        $f = @($c.MappingProblems | Where-Object Kind -eq 'ChecksumFailure')
        $f.Count | Should -Be 1
        $f[0].Frame | Should -Be 5
    }

    It 'names the mapping that carries no checksum' {
        $missing = @($c.MappingProblems | Where-Object Kind -eq 'ChecksumMissing')
        $missing.Count | Should -Be 1
        $missing[0].Frame | Should -Be 6
    }
}

Describe 'Measure-MptcpCapture against tshark on the corpus: <Name>' -ForEach $corpus {
    BeforeAll {
        $ours = @(Measure-MptcpCapture -LiteralPath $Pcap -ErrorAction SilentlyContinue -ErrorVariable problems)
    }

    It 'agrees on reinjections, payload bytes and DSS mappings per subflow' -Skip:$noTshark {
        @($problems | Where-Object { $_.FullyQualifiedErrorId -notlike 'CaptureTruncated,*' }) | Should -BeNullOrEmpty
        Assert-SameAsTshark $Pcap $ours
    }
}

Describe 'Measure-MptcpCapture on bad input' {
    It 'measures a damaged file up to the damage, then says where it broke' {
        $bytes = [IO.File]::ReadAllBytes($crafted)
        $cut = Join-Path $TestDrive 'cut.pcap'
        [IO.File]::WriteAllBytes($cut, $bytes[0..($bytes.Length - 40)])
        $m = @(Measure-MptcpCapture -LiteralPath $cut -ErrorVariable e -ErrorAction SilentlyContinue)
        $m.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'CaptureTruncated,*'
    }

    It 'names a file that does not exist, and one that is not a capture' {
        Measure-MptcpCapture -LiteralPath (Join-Path $TestDrive 'none.pcap') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'CaptureFileNotFound,*'
        $text = Join-Path $TestDrive 'text.pcap'; Set-Content $text 'not a capture'
        Measure-MptcpCapture -LiteralPath $text -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'NotACaptureFile,*'
    }

    It 'refuses an interval of zero' {
        { Measure-MptcpCapture -LiteralPath $crafted -Interval 0 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { Measure-MptcpCapture -LiteralPath $crafted -Interval -1 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        # Above zero but finer than the series can be: refused when the command starts.
        { Measure-MptcpCapture -LiteralPath $crafted -Interval 0.0001 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidInterval,*'
    }

    It 'takes paths from the pipeline' {
        @(Get-Item $crafted | Measure-MptcpCapture).Count | Should -Be 1
    }

    It 'says a chart that cannot be written is ChartWriteFailed, naming the file, not a missing library' {
        $m = Measure-MptcpCapture -LiteralPath $crafted
        $m | Export-MptcpChart -Path '/proc/mptcptools-no-such.png' -ErrorVariable e -ErrorAction SilentlyContinue
        $e.Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'ChartWriteFailed,*'
        "$($e[0].TargetObject)" | Should -Be '/proc/mptcptools-no-such.png'
        # And the same measurement draws where it can be written.
        $ok = $m | Export-MptcpChart -Path (Join-Path $TestDrive 'ok.png') -PassThru
        (Get-Item (Join-Path $TestDrive 'ok.png')).Length | Should -BeGreaterThan 1000
        $ok.Path | Should -Be (Join-Path $TestDrive 'ok.png')
    }
}

Describe 'Compare-MptcpCapture on crafted captures of one connection, at the client and behind a NAT at the server' {
    BeforeAll {
        # The server's capture: its clock 5 s ahead, each direction 1 ms on the way; frame 8 (subflow 1's first data)
        # lost; frame 9's DSS stripped; frame 15's data ACK rewritten; the join's address and port rewritten by a NAT.
        $serverRows = Get-CraftedServerRows $rows $idsn
        $natHosts = @{ c = $hosts.c; s = $hosts.s; j = @('203.0.113.99', 50001) }
        $serverFile = Join-Path $TestDrive 'server.pcap'
        Write-CraftedCapture $serverFile $serverRows $natHosts
        $diffs = @(Compare-MptcpCapture -ReferencePath $crafted -DifferencePath $serverFile)
        $summary = @(Compare-MptcpCapture $crafted $serverFile -Summary)
    }

    It 'matches the join through the NAT by its token, and names the rewritten address and port' {
        ($summary | Where-Object ReferenceStream -eq 1 | Select-Object -First 1).MatchedBy | Should -Be 'JoinToken'
        ($summary | Where-Object ReferenceStream -eq 0 | Select-Object -First 1).MatchedBy | Should -Be 'Keys'
        $nat = @($diffs | Where-Object Kind -eq 'AddressRewritten' | Sort-Object Field)
        $nat.Field | Should -Be @('ClientAddress', 'ClientPort')
        $nat[0].SentValue | Should -Be '198.51.100.2'; $nat[0].ArrivedValue | Should -Be '203.0.113.99'
        $nat[1].ArrivedValue | Should -Be '50001'
    }

    It 'names the lost frame, where it left' {
        $lost = @($diffs | Where-Object Kind -eq 'Lost')
        $lost.Count | Should -Be 1
        $lost[0].Frames | Should -Be @(8)
        $lost[0].Direction | Should -Be 'ClientToServer'
        $lost[0].Subflow | Should -Be '198.51.100.2:40001 > 203.0.113.2:5201'
    }

    It 'names the stripped DSS and the rewritten data ACK, with the values' {
        $stripped = @($diffs | Where-Object Kind -eq 'OptionStripped')
        $stripped.Count | Should -Be 1
        $stripped[0].Option | Should -Be 'Dss'; $stripped[0].Frames | Should -Be @(9); $stripped[0].Direction | Should -Be 'ClientToServer'
        $rewritten = @($diffs | Where-Object Kind -eq 'OptionRewritten')
        $rewritten.Count | Should -Be 1
        $rewritten[0].Option | Should -Be 'Dss'; $rewritten[0].Field | Should -Be 'DataAck'
        $rewritten[0].Direction | Should -Be 'ServerToClient'
        $rewritten[0].SentValue | Should -Be "$($idsn + 4000)"; $rewritten[0].ArrivedValue | Should -Be "$($idsn + 4502)"
    }

    It 'estimates the clock offset from the handshakes, and the one-way delay from it' {
        $s = $summary | Where-Object { $_.ReferenceStream -eq 0 -and $_.Direction -eq 'ClientToServer' }
        $s.ClockOffsetEstimated | Should -BeTrue
        [math]::Round($s.ClockOffset.TotalSeconds, 6) | Should -Be 5
        # pcap keeps microseconds: 1 ms within a microsecond either way.
        $s.OneWayDelayMedian.TotalMilliseconds | Should -BeGreaterOrEqual 0.998
        $s.OneWayDelayMedian.TotalMilliseconds | Should -BeLessOrEqual 1.002
        $s.SentIn | Should -Be 'Reference'
        ($summary | Where-Object { $_.ReferenceStream -eq 0 -and $_.Direction -eq 'ServerToClient' }).SentIn | Should -Be 'Difference'
        $s.Lost | Should -Be 0
        ($summary | Where-Object { $_.ReferenceStream -eq 1 -and $_.Direction -eq 'ClientToServer' }).Lost | Should -Be 1
    }

    It 'finds nothing to report between a capture and itself' {
        @(Compare-MptcpCapture $crafted $crafted -WarningVariable w).Count | Should -Be 0
        $w | Should -BeNullOrEmpty
    }

    It 'warns when the two captures share no subflow, before reporting every frame lost' {
        $corpus = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump'
        $d = @(Compare-MptcpCapture (Join-Path $corpus 'mptcp-v0.pcap') (Join-Path $corpus 'mptcp-v1.pcap') -WarningVariable w -WarningAction SilentlyContinue)
        $d.Count | Should -BeGreaterThan 0
        @($d | Where-Object Kind -ne 'Lost') | Should -BeNullOrEmpty
        $w.Count | Should -Be 1
        "$($w[0])" | Should -Match 'may not hold the same traffic'
    }

    It 'says so when a capture cannot be read' {
        Compare-MptcpCapture $crafted (Join-Path $TestDrive 'none.pcap') -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'CaptureFileNotFound,*'
    }
}

Describe 'The classic pcap reader (without libpcap), in every byte order and resolution' {
    BeforeAll {
        $source = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump/mptcp-v0.pcap'
        $expected = @(Read-MptcpCapture -LiteralPath $source -IncludePlainTcp | ForEach-Object { "$($_.Number) $($_.Timestamp.ToString('o')) $_" })
        # Rewrites a little-endian microsecond pcap: big-endian and/or nanosecond, every header field converted.
        function Convert-Pcap([byte[]] $In, [switch] $BigEndian, [switch] $Nano) {
            $out = [IO.MemoryStream]::new()
            $put = { param([uint32] $v) $b = [BitConverter]::GetBytes($v); if ($BigEndian) { [Array]::Reverse($b) }; $out.Write($b, 0, 4) }
            & $put $(if ($Nano) { 0xa1b23c4du } else { 0xa1b2c3d4u })
            $versions = [byte[]]$In[4..7]; if ($BigEndian) { $versions = [byte[]]($versions[1], $versions[0], $versions[3], $versions[2]) }; $out.Write($versions, 0, 4)
            foreach ($o in 8, 12, 16, 20) { & $put ([BitConverter]::ToUInt32($In, $o)) }
            $at = 24
            while ($at + 16 -le $In.Length) {
                $frac = [BitConverter]::ToUInt32($In, $at + 4); $len = [BitConverter]::ToUInt32($In, $at + 8)
                & $put ([BitConverter]::ToUInt32($In, $at)); & $put $(if ($Nano) { [uint32]($frac * 1000) } else { $frac })
                & $put $len; & $put ([BitConverter]::ToUInt32($In, $at + 12))
                $out.Write($In, $at + 16, $len); $at += 16 + $len
            }
            return , $out.ToArray()
        }
        $bytes = [IO.File]::ReadAllBytes($source)
    }

    It 'reads the <Name> form into the same packets and timestamps' -ForEach @(
        @{ Name = 'big-endian'; Big = $true; Nano = $false }, @{ Name = 'nanosecond'; Big = $false; Nano = $true }, @{ Name = 'big-endian nanosecond'; Big = $true; Nano = $true }
    ) {
        $file = Join-Path $TestDrive "$($Name -replace ' ', '-').pcap"
        [IO.File]::WriteAllBytes($file, (Convert-Pcap $bytes -BigEndian:$Big -Nano:$Nano))
        $got = @(Read-MptcpCapture -LiteralPath $file -IncludePlainTcp | ForEach-Object { "$($_.Number) $($_.Timestamp.ToString('o')) $_" })
        $got | Should -Be $expected
        (Read-MptcpCapture -LiteralPath $file | Select-Object -First 1).Timestamp.Kind | Should -Be 'Utc'
    }

    It 'says where a record that claims more than a capture can hold breaks the file' {
        $broken = [byte[]]$bytes.Clone()
        # The second record's captured length, made 1 MB.
        $second = 24 + 16 + [BitConverter]::ToUInt32($bytes, 24 + 8)
        [BitConverter]::GetBytes([uint32]1048576).CopyTo($broken, $second + 8)
        $file = Join-Path $TestDrive 'huge-record.pcap'; [IO.File]::WriteAllBytes($file, $broken)
        $got = @(Read-MptcpCapture -LiteralPath $file -IncludePlainTcp -ErrorVariable e -ErrorAction SilentlyContinue)
        $got.Count | Should -BeLessOrEqual 1
        $e[0].FullyQualifiedErrorId | Should -BeLike 'CaptureTruncated,*'
        $e[0].Exception.Message | Should -Match 'damaged after frame 1: a record claims 1048576 bytes'
    }
}

Describe 'The frame loop''s DSS fast path leaves every other option to the full decoder' {
    BeforeAll {
        # Segments whose option 30 is a lone DSS (with NOPs and a timestamp option around it) take the fast path; one
        # with a DSS and an ADD_ADDR, one with a DSS and a truncated MPTCP option, and one with two DSS options must not.
        $hosts3 = @{ c = @('192.0.2.2', 40020); s = @('203.0.113.2', 5201) }
        $ts = '01 01 08 0a 00 00 00 01 00 00 00 02'
        $rows3 = @(
            @{ From = 'c'; Flags = 'Syn'; Seq = 100; Ack = 0; Len = 0; Opt = '1e 04 01 01' }
            @{ From = 's'; To = 'c'; Flags = 'Syn,Ack'; Seq = 700; Ack = 101; Len = 0; Opt = "1e 0c 01 01 $ks" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 101; Ack = 701; Len = 0; Opt = "1e 14 01 01 $kc $ks" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 101; Ack = 701; Len = 100; Opt = "$ts $(New-DssOption -Dsn ($idsn + 1) -Ssn 1 -Length 100)" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 201; Ack = 701; Len = 100; Opt = "$(New-DssOption -Dsn ($idsn + 101) -Ssn 101 -Length 100) 1e 10 30 07 c6 33 64 02 01 02 03 04 05 06 07 08" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 301; Ack = 701; Len = 100; Opt = "$(New-DssOption -Dsn ($idsn + 201) -Ssn 201 -Length 100) 1e 08 20" }
            @{ From = 'c'; Flags = 'Ack'; Seq = 401; Ack = 701; Len = 100; Opt = "$(New-DssOption -Dsn ($idsn + 301) -Ssn 301 -Length 100) $(New-DssOption -Ack ($idsn + 1))" }
        )
        for ($i = 0; $i -lt $rows3.Count; $i++) { $rows3[$i].T = $i * 0.01 }
        $file3 = Join-Path $TestDrive 'mixed-options.pcap'
        Write-CraftedCapture $file3 $rows3 $hosts3
        $summary3 = Read-MptcpCapture -LiteralPath $file3 -Summary
        $packets3 = @(Read-MptcpCapture -LiteralPath $file3)
    }

    It 'sees the ADD_ADDR beside a DSS, and the truncated option after one' {
        @($summary3.AddAddr).Count | Should -Be 1
        "$($summary3.AddAddr[0].Address)" | Should -Be '198.51.100.2'
        $summary3.InvalidOptions | Should -Be 1
        @($packets3[5].Options).Count | Should -Be 2
        $packets3[5].Options[1].IsValid | Should -BeFalse
    }

    It 'counts every mapping once, on either path' {
        $summary3.Subflows[0].MappedBytesFromClient | Should -Be 400
        (Measure-MptcpCapture -LiteralPath $file3).Directions[0].BytesCovered | Should -Be 400
        $summary3.Outcome | Should -Be 'Mptcp'
    }
}
