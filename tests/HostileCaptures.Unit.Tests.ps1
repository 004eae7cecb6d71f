# Captures built to hurt the reader and the tracker (issue 16, items 5 and 8), crafted byte by byte with
# tests/tools/CaptureFuzzer: timestamps no DateTime holds, and floods that cost a careless tracker quadratic time or
# memory per packet. The assertions are on what the objects hold (bounded lists, counts of what was not kept, every
# frame read), never on time: the time and memory figures are bench/Attack.bench.ps1's.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    . (Join-Path $PSScriptRoot 'Support/CraftSupport.ps1')
    $connection = New-CraftedConnection -Seed 7
    $frames = @($connection).Count

    # Reads a file with every error kept, none thrown; returns objects, errors and whether anything was thrown.
    function Read-Hostile([string[]] $Path, [switch] $Summary, [switch] $Measure) {
        $errors = $null; $thrown = $null
        $out = try {
            if ($Measure) { @(Measure-MptcpCapture -LiteralPath $Path -ErrorAction SilentlyContinue -ErrorVariable errors) }
            else { @(Read-MptcpCapture -LiteralPath $Path -Summary:$Summary -ErrorAction SilentlyContinue -ErrorVariable errors) }
        }
        catch { $thrown = $_; @() }
        [pscustomobject]@{ Output = @($out); Errors = @($errors); Thrown = $thrown }
    }
}

Describe 'Timestamps no date can hold (item 5)' {
    It 'reads every frame of <Case>, says so in one CaptureTimestampInvalid error, and throws nothing' -ForEach @(
        @{ Case = 'a classic pcap with usec 0xffffffff'; Kind = 'pcap'; Stamps = @{ 5 = @(1700000000, 4294967295) } }
        @{ Case = 'a nanosecond pcap with a fraction of 10^9 ns'; Kind = 'pcap-ns'; Stamps = @{ 5 = @(1700000000, 1000000000); 6 = @(1700000000, 4294967295) } }
        @{ Case = 'a pcapng timestamp of 2^64-1 microseconds'; Kind = 'pcapng'; Stamps = @{ 5 = [uint64]::MaxValue } }
        @{ Case = 'a pcapng if_tsoffset of 2^63-1 seconds'; Kind = 'pcapng'; Options = @(, @(14, [BitConverter]::GetBytes([long]::MaxValue))) }
        @{ Case = 'a pcapng if_tsresol of seconds with a timestamp of 2^64-1'; Kind = 'pcapng'; Options = @(, @(9, [byte[]]@(0))); Stamps = @{ 5 = [uint64]::MaxValue } }
    ) {
        $path = Join-Path $TestDrive "time-$([guid]::NewGuid().ToString('n')).cap"
        switch ($Kind) {
            'pcap' { Write-CraftedPcap $path $connection -Stamps $Stamps }
            'pcap-ns' { Write-CraftedPcap $path $connection -Nanoseconds -Stamps $Stamps }
            'pcapng' { Write-CraftedPcapNg $path $connection -Options @($Options | Where-Object { $_ }) -Stamps ($Stamps ?? @{}) }
        }
        $r = Read-Hostile $path
        $r.Thrown | Should -BeNullOrEmpty
        $packets = @($r.Output)
        # Every frame carries MPTCP options, so every frame is a packet object.
        $packets.Count | Should -Be $frames
        @($r.Errors).Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'CaptureTimestampInvalid,*'
        $r.Errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $r.Errors[0].TargetObject | Should -Be $path
        # A frame read with the time of the one before it: time never goes back across the bad ones.
        for ($i = 1; $i -lt $packets.Count; $i++) { $packets[$i].Timestamp | Should -BeGreaterOrEqual $packets[$i - 1].Timestamp.AddYears(-1) }
        $s = Read-Hostile $path -Summary
        $s.Thrown | Should -BeNullOrEmpty
        @($s.Output).Count | Should -Be 1 -Because 'the summary of the file is not lost'
        $s.Output[0].Packets | Should -Be $frames
        (Read-Hostile $path -Measure).Thrown | Should -BeNullOrEmpty
    }

    It 'goes on with the next file of the pipeline after one with a bad timestamp, and -ErrorAction decides' {
        $bad = Join-Path $TestDrive 'bad.pcapng'; $good = Join-Path $TestDrive 'good.pcap'
        Write-CraftedPcapNg $bad $connection -Stamps @{ 3 = [uint64]::MaxValue }
        Write-CraftedPcap $good $connection
        $r = Read-Hostile $bad, $good -Summary
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 2
        @($r.Errors).Count | Should -Be 1
        { Read-MptcpCapture -LiteralPath $bad -ErrorAction Stop } | Should -Throw -ErrorId 'CaptureTimestampInvalid,*'
    }

    It 'keeps times that are dates, however far: 2038, 2106 and before 1970' {
        $path = Join-Path $TestDrive 'far.pcapng'
        Write-CraftedPcapNg $path $connection -Stamps @{ 0 = [uint64]2147483648000000; 1 = [uint64]4294967295000000 } -Options @(, @(14, [BitConverter]::GetBytes([long]-100)))
        $r = Read-Hostile $path
        @($r.Errors).Count | Should -Be 0
        $r.Output[0].Timestamp | Should -Be ([DateTime]::new(2038, 1, 19, 3, 12, 28, [DateTimeKind]::Utc))
        $r.Output[1].Timestamp.Year | Should -Be 2106
    }
}

Describe 'Floods that cost per-packet state (item 8)' {
    It 'keeps at most 1024 ADD_ADDR announcements of a connection, and counts the rest' {
        $path = New-FloodCapture addaddr 5000 (Join-Path $TestDrive 'addaddr.pcap')
        $s = @(Read-MptcpCapture -LiteralPath $path -Summary)
        $s.Count | Should -Be 1
        $s[0].AddAddr.Count | Should -Be 1024
        $s[0].AddAddrOmitted | Should -Be (5000 - 1024)
        # The first ones are the ones kept, each the address it announced.
        "$($s[0].AddAddr[0].Address)" | Should -Be '2001:db8::'
        "$($s[0].AddAddr[1023].Address)" | Should -Be '2001:db8::3ff'
    }

    It 'keeps each REMOVE_ADDR once, with how often it came and when last' {
        $path = New-FloodCapture removeaddr 20000 (Join-Path $TestDrive 'removeaddr.pcap')
        $s = @(Read-MptcpCapture -LiteralPath $path -Summary)
        # Ids 0 to 255, each removed 78 or 79 times.
        $s[0].RemoveAddr.Count | Should -Be 256
        ($s[0].RemoveAddr | Measure-Object Count -Sum).Sum | Should -Be 20000
        $first = $s[0].RemoveAddr | Where-Object { $_.AddressIds[0] -eq 0 }
        $first.Count | Should -Be 79
        $first.LastSeen | Should -BeGreaterThan $first.Seen
    }

    It 'keeps at most 256 subflows of a connection that a join flood targets, and counts the rest' {
        $path = New-FloodCapture joins 2000 (Join-Path $TestDrive 'joins.pcap')
        $s = @(Read-MptcpCapture -LiteralPath $path -Summary)
        $s.Count | Should -Be 1
        $s[0].Subflows.Count | Should -Be 256
        $s[0].SubflowsOmitted | Should -Be (2001 - 256)
        $s[0].Packets | Should -Be 2003
    }

    It 'keeps the first 1000 MP_PRIO changes of a measured connection, and counts them all' {
        $path = New-FloodCapture prio 3000 (Join-Path $TestDrive 'prio.pcap')
        $m = @(Measure-MptcpCapture -LiteralPath $path)
        $m[0].PriorityChanges.Count | Should -Be 1000
        $m[0].PriorityChangeCount | Should -Be 3000
    }

    It 'counts every hole of a data sequence space mapped backwards, with bounded ranges' {
        $path = New-FloodCapture coverage 3000 (Join-Path $TestDrive 'coverage.pcap')
        $m = @(Measure-MptcpCapture -LiteralPath $path)
        $d = $m[0].Directions | Where-Object Direction -eq 'ClientToServer'
        $d.BytesCovered | Should -Be (3000 * 100)
        # 100-byte mappings 200 apart: a 100-byte hole between each two.
        $d.Gaps | Should -Be 2999
        $d.GapBytes | Should -Be (2999 * 100)
    }
}

Describe 'Connections that ended long ago leave the tracker (item 8)' {
    It 'writes the summary of a connection closed more than 60 s of capture time before, ahead of one still open' {
        # A opens at 0 s and stays open; B opens at 1 s and closes at once; a packet of A at 200 s.
        $a = @(New-CraftedConnection -Seed 1 -ClientPort 41000)
        $b = @(New-CraftedConnection -Seed 2 -ClientPort 42000 -Start ([CaptureFuzzer.Scenario]::Start + 1000000))
        $aOpen = $a[0..5]
        $late = $a[6]
        $late = [CaptureFuzzer.Timed]::new([CaptureFuzzer.Scenario]::Start + 200000000, $late.Segment)
        $path = Join-Path $TestDrive 'order.pcap'
        Write-CraftedPcap $path (@($aOpen) + @($b) + @($late))
        $s = @(Read-MptcpCapture -LiteralPath $path -Summary)
        $s.Count | Should -Be 2
        $s[0].ClientPort | Should -Be 42000 -Because 'B ended long before the capture did'
        $s[0].Id | Should -Be 1
        $s[1].ClientPort | Should -Be 41000
        $s[1].Id | Should -Be 0
        ($s | Sort-Object Id)[0].ClientPort | Should -Be 41000 -Because 'Sort-Object Id gives the capture order back'
    }

    It 'holds at most 65536 open connections, and still writes a summary of every one' {
        $path = New-FloodCapture synflood 70000 (Join-Path $TestDrive 'synflood.pcap')
        # The tracker's own count, frame by frame: a frame handler takes a span, which a script block cannot.
        Add-Type -IgnoreWarnings -CompilerOptions '/nowarn:CS1701' -ReferencedAssemblies (Join-Path $modulePath 'MptcpTools.dll'), System.Collections, System.Linq, System.Runtime -TypeDefinition @'
public static class TrackerWatch
{
    public static int[] Read(string path)
    {
        var processor = new MptcpTools.Packets.PacketProcessor();
        processor.Tracker.KeepEnded = true;
        int most = 0, ended = 0;
        new MptcpTools.Packets.CaptureFileReader(path).Read((linkType, frame, timestamp, number) =>
        {
            processor.Process(linkType, frame, timestamp, number, false, false);
            ended += processor.Tracker.TakeEndedSummaries().Count;
            most = System.Math.Max(most, processor.Tracker.LiveConnections);
            return true;
        });
        return new[] { most, ended, System.Linq.Enumerable.Count(processor.Tracker.Summaries()) };
    }
}
'@
        $most, $ended, $live = [TrackerWatch]::Read($path)
        $most | Should -BeLessOrEqual 65536
        $ended | Should -BeGreaterThan 0
        $ended + $live | Should -Be 70000
        @(Read-MptcpCapture -LiteralPath $path -Summary).Count | Should -Be 70000
    }
}
