# The data level on real transfers in the lab, with real faults: a path cut and its link set down mid-transfer, random
# loss and a rate limit on one path (tbf and an nftables numgen rule: this kernel has no netem), a backup subflow that
# takes over and is made a regular one again (MP_PRIO), DSS checksums on; each capture measured and compared with
# tshark's MPTCP analysis of the same file. Then two captures of one transfer, at the client and at the server, with
# the router stripping MP_JOIN from the SYN-ACKs towards path 2 and dropping some of path 1's data; and a chart of a
# transfer whose second path is slowed halfway, checked pixel by pixel.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')
    if (-not $labSkip -and -not (Test-Tshark)) {
        if ($env:CI -eq 'true') { throw 'tshark is needed for the lab comparisons under CI=true.' }
        $labSkip = $true
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    Import-Module (Get-LabModulePath) -Force
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')
    $peer = Get-LabPeerPath

    # Captures one transfer from the client to the server: tcpdump in each namespace of $At (client, server), the
    # sender started, $During run while it sends, then tcpdump stopped (SIGINT to the process it started) and flushed.
    function Invoke-CapturedTransfer {
        param($Lab, [string] $Name, [long] $Bytes, [scriptblock] $During = {}, [string[]] $At = @('Client'), [int] $Snap = 160)
        $files = @{}
        $dumps = foreach ($side in $At) {
            $files[$side] = Join-Path ([IO.Path]::GetTempPath()) "$($Lab.Id)-$Name-$side.pcap"
            $interface = if ($side -eq 'Client') { 'any' } else { 's0' }
            Start-LabProcess $Lab $Lab.$side tcpdump '-i', $interface, '-s', "$Snap", '-B', '65536', '-U', '-w', $files[$side], 'tcp port 5201'
        }
        Start-Sleep -Seconds 1.5
        $send = Start-LabProcess $Lab $Lab.Client $peer 'send', '--to', $Lab.Addresses.ServerAddress, '--port', '5201', '--bytes', "$Bytes", '--hold', '1'
        & $During
        if (-not $send.WaitForExit(60000)) { throw "the transfer of $Bytes bytes did not end within 60 s" }
        Start-Sleep -Seconds 1
        foreach ($d in $dumps) { & kill -INT $d.Id; [void]$d.WaitForExit(10000) }
        return $files
    }

    function Set-LabRate($Lab, [string] $Device, [string] $Rate) {
        Invoke-InNamespace $Lab.Client tc 'qdisc', 'replace', 'dev', $Device, 'root', 'tbf', 'rate', $Rate, 'burst', '64kb', 'latency', '100ms' | Out-Null
    }

}

Describe 'A path whose link goes down in the middle of a transfer' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Set-LabRate $lab c0 100mbit; Set-LabRate $lab c1 100mbit
        # Path 2 goes dark at the router first, then its link goes down: the segments that had left the client by then
        # are in the capture and lost, so the data they held must go again over path 1. (A link that goes down with
        # nothing dropped first stops the client's queue before tcpdump sees the segments, and nothing shows.)
        $files = Invoke-CapturedTransfer $lab 'linkdown' 40000000 {
            Start-Sleep -Milliseconds 700
            Add-LabNftRules $lab.Router "table inet cut {`n chain forward_filter {`n type filter hook forward priority -10;`n iifname `"r1`" drop`n oifname `"r1`" drop`n }`n}"
            Start-Sleep -Milliseconds 300
            Invoke-InNamespace $lab.Router ip 'link', 'set', 'r1', 'down' | Out-Null
        }
        $m = @(Measure-MptcpCapture -LiteralPath $files.Client)
    }
    AfterAll { Remove-MptcpLab $lab; $files.Values | Remove-Item -ErrorAction Ignore }

    It 'sees the whole transfer, over both paths' {
        $m.Count | Should -Be 1
        $m[0].Subflows.Count | Should -Be 2
        $m[0].Directions[0].BytesCovered | Should -Be 40000000
        $m[0].Directions[0].DataFin | Should -BeTrue
        foreach ($s in $m[0].Subflows) { $s.MappedBytesFromClient | Should -BeGreaterThan 1000000 }
    }

    It 'sees the data the dead path held reinjected on the live one' {
        $m[0].Reinjections | Should -BeGreaterOrEqual 1
        $path2 = ($m[0].Subflows | Where-Object { "$($_.ClientAddress)" -eq $lab.Addresses.ClientPath2 }).Stream
        $path1 = ($m[0].Subflows | Where-Object Initial).Stream
        $moved = @($m[0].ReinjectionPairs | Where-Object { $_.FromSubflow -eq $path2 -and $_.ToSubflow -eq $path1 })
        $moved.Count | Should -Be 1
        $moved[0].Segments | Should -BeGreaterThan 0
        $moved[0].Bytes | Should -BeGreaterThan 1000
        ($m[0].Subflows | Where-Object Stream -eq $path1).ReinjectedSegments | Should -Be $moved[0].Segments
        $p2 = $m[0].Subflows | Where-Object Stream -eq $path2; $p1 = $m[0].Subflows | Where-Object Stream -eq $path1
        $p2.LastData | Should -BeLessThan $p1.LastData
    }

    It 'counts the reinjections, payload and mappings tshark counts' {
        Assert-SameAsTshark $files.Client $m[0]
    }
}

Describe 'Random loss and a rate limit on one path' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Set-LabRate $lab c0 100mbit; Set-LabRate $lab c1 30mbit
        Add-LabNftRules $lab.Router @"
table inet mptl {
    chain forward_filter {
        type filter hook forward priority 0;
        ip saddr $($lab.Addresses.ClientPath2) tcp dport 5201 numgen random mod 100 lt 3 counter drop
    }
}
"@
        $files = Invoke-CapturedTransfer $lab 'loss' 30000000
        $m = @(Measure-MptcpCapture -LiteralPath $files.Client)
    }
    AfterAll { Remove-MptcpLab $lab; $files.Values | Remove-Item -ErrorAction Ignore }

    It 'sees every byte once, and the slow path carrying less' {
        $m.Count | Should -Be 1
        $m[0].Directions[0].BytesCovered | Should -Be 30000000
        $m[0].Directions[0].Gaps | Should -Be 0
        $slow = $m[0].Subflows | Where-Object { "$($_.ClientAddress)" -eq $lab.Addresses.ClientPath2 }
        $slow.ShareFromClient | Should -BeGreaterThan 0.02
        $slow.ShareFromClient | Should -BeLessThan 0.5
        $slow.PayloadBytesFromClient | Should -BeGreaterThan $slow.MappedBytesFromClient -Because 'the lost segments went again'
    }

    It 'counts the reinjections, payload and mappings tshark counts' {
        Assert-SameAsTshark $files.Client $m[0]
    }
}

Describe 'A backup subflow that takes over, then leaves backup' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        # Path 2 as the client's backup endpoint.
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'flush' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'add', $lab.Addresses.ClientPath2, 'dev', 'c1', 'id', '5', 'subflow', 'backup' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Set-LabRate $lab c0 100mbit; Set-LabRate $lab c1 100mbit
        $script:downAt = $null; $script:prioAt = $null
        $files = Invoke-CapturedTransfer $lab 'backup' 40000000 {
            Start-Sleep -Milliseconds 800
            $script:downAt = [DateTime]::UtcNow
            Invoke-InNamespace $lab.Router ip 'link', 'set', 'r0', 'down' | Out-Null
            Start-Sleep -Milliseconds 1500
            Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'change', 'id', '5', 'nobackup' | Out-Null
        }
        $m = @(Measure-MptcpCapture -LiteralPath $files.Client)
        $backup = $m[0].Subflows | Where-Object { "$($_.ClientAddress)" -eq $lab.Addresses.ClientPath2 }
        $regular = $m[0].Subflows | Where-Object Initial
    }
    AfterAll { Remove-MptcpLab $lab; $files.Values | Remove-Item -ErrorAction Ignore }

    It 'sees the join ask for a backup subflow' {
        $backup.JoinedAsBackup | Should -BeTrue
        $regular.JoinedAsBackup | Should -BeFalse
    }

    It 'sees the backup carry the data once the regular path is gone' {
        $m[0].Directions[0].BytesCovered | Should -Be 40000000
        $backup.BytesWhileBackup | Should -BeGreaterThan 1000000
        $backup.MappedBytesFromClient | Should -BeGreaterThan $regular.MappedBytesFromClient
        $regular.LastData | Should -BeLessThan $backup.LastData
        $afterDown = ($m[0].Throughput | Where-Object { $_.Subflow -eq $backup.Stream -and $_.Start -gt $script:downAt.AddSeconds(0.5) } | Measure-Object Bytes -Sum).Sum
        $afterDown | Should -BeGreaterThan ($backup.MappedBytesFromClient / 2)
    }

    It 'sees the MP_PRIO that made it a regular subflow again' {
        $prio = @($m[0].PriorityChanges | Where-Object { $_.Subflow -eq $backup.Stream -and -not $_.Backup })
        $prio.Count | Should -BeGreaterOrEqual 1
        $prio[0].From | Should -Be 'Client'
        $backup.Backup | Should -BeFalse
    }

    It 'counts the reinjections, payload and mappings tshark counts' {
        Assert-SameAsTshark $files.Client $m[0]
    }
}

Describe 'DSS checksums on' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        foreach ($ns in $lab.Client, $lab.Server) { Invoke-InNamespace $ns sysctl '-qw', 'net.mptcp.checksum_enabled=1' | Out-Null }
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $files = Invoke-CapturedTransfer $lab 'csum' 3000000 -Snap 0
        $m = @(Measure-MptcpCapture -LiteralPath $files.Client)
    }
    AfterAll { Remove-MptcpLab $lab; $files.Values | Remove-Item -ErrorAction Ignore }

    It 'sees checksums negotiated, checks them against the captured data, and finds them right' {
        $m.Count | Should -Be 1
        $m[0].ChecksumsRequired | Should -BeTrue
        $d = $m[0].Directions[0]
        $d.ChecksumsVerified | Should -BeGreaterThan 10
        $d.ChecksumFailures | Should -Be 0
        @($m[0].MappingProblems | Where-Object Kind -like 'Checksum*') | Should -BeNullOrEmpty
        $d.BytesCovered | Should -Be 3000000
    }

    It 'counts the reinjections, payload and mappings tshark counts' {
        Assert-SameAsTshark $files.Client $m[0]
    }
}

Describe 'Two captures of one transfer, at the client and at the server, through a router that strips and drops' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        # Towards path 2, SYN-ACKs lose option 30 (so the join's MP_JOIN vanishes); from path 1, a tenth of the big
        # data segments are dropped, and counted.
        Invoke-InNamespace $lab.Router iptables '-t', 'mangle', '-A', 'FORWARD', '-o', 'r1', '-p', 'tcp', '--tcp-flags', 'SYN,ACK', 'SYN,ACK',
            '-j', 'TCPOPTSTRIP', '--strip-options', '30' | Out-Null
        Add-LabNftRules $lab.Router @"
table inet mptl {
    chain forward_filter {
        type filter hook forward priority 0;
        iifname "r0" tcp dport 5201 meta length gt 1000 numgen random mod 100 lt 10 counter drop
    }
}
"@
        $files = Invoke-CapturedTransfer $lab 'twoends' 20000000 -At Client, Server
        $dropped = ((Invoke-InNamespace $lab.Router nft '-j', 'list', 'table', 'inet', 'mptl') -join "`n" | ConvertFrom-Json).nftables |
            Where-Object { $_.rule } | ForEach-Object { $_.rule.expr } | Where-Object { $_.counter } | ForEach-Object { $_.counter.packets }
        $diffs = @(Compare-MptcpCapture -ReferencePath $files.Client -DifferencePath $files.Server)
        $summary = @(Compare-MptcpCapture -ReferencePath $files.Client -DifferencePath $files.Server -Summary)
    }
    AfterAll { Remove-MptcpLab $lab; $files.Values | Remove-Item -ErrorAction Ignore }

    It 'names the MP_JOIN that left the server and never reached the client, on path 2' {
        $stripped = @($diffs | Where-Object Kind -eq 'OptionStripped')
        $stripped.Count | Should -Be 1
        $stripped[0].Option | Should -Be 'MpJoin'
        $stripped[0].Direction | Should -Be 'ServerToClient'
        $stripped[0].Subflow | Should -BeLike "$($lab.Addresses.ClientPath2):*"
        $stripped[0].SentValue | Should -BeLike 'MP_JOIN SYN-ACK*'
    }

    It 'names as lost, on path 1 from the client, exactly the segments the router counted as dropped' {
        $dropped | Should -BeGreaterThan 0
        $lost = @($diffs | Where-Object Kind -eq 'Lost')
        $lost.Count | Should -Be 1
        $lost[0].Direction | Should -Be 'ClientToServer'
        $lost[0].Subflow | Should -BeLike "$($lab.Addresses.ClientPath1):*"
        $lost[0].Count | Should -Be $dropped
    }

    It 'matches both subflows, finds each direction''s sending side, and estimates the delay' {
        ($summary | Where-Object { $_.Subflow -like "$($lab.Addresses.ClientPath1):*" } | Select-Object -First 1).MatchedBy | Should -Be 'Keys'
        ($summary | Where-Object { $_.Subflow -like "$($lab.Addresses.ClientPath2):*" } | Select-Object -First 1).MatchedBy | Should -Be 'JoinToken'
        foreach ($s in $summary) {
            $s.SentIn | Should -Be $(if ($s.Direction -eq 'ClientToServer') { 'Reference' } else { 'Difference' })
            $s.ClockOffsetEstimated | Should -BeTrue
        }
        $data = $summary | Where-Object { $_.Subflow -like "$($lab.Addresses.ClientPath1):*" -and $_.Direction -eq 'ClientToServer' }
        $data.OneWayDelayMedian.TotalMilliseconds | Should -BeLessThan 50
        [math]::Abs($data.ClockOffset.TotalMilliseconds) | Should -BeLessThan 5 -Because 'both captures read the same clock'
        @($diffs | Where-Object Kind -in 'OptionRewritten', 'OptionAdded', 'AddressRewritten') | Should -BeNullOrEmpty
    }
}

Describe 'A chart of a transfer over two paths, the second slowed halfway' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Set-LabRate $lab c0 100mbit; Set-LabRate $lab c1 100mbit
        $files = Invoke-CapturedTransfer $lab 'chart' 50000000 { Start-Sleep -Seconds 1.5; Set-LabRate $lab c1 10mbit }
        $png = Join-Path $TestDrive 'chart.png'; $svg = Join-Path $TestDrive 'chart.svg'
        $m = @(Measure-MptcpCapture -LiteralPath $files.Client)
        $chart = $m | Export-MptcpChart -Path $png -Width 1000 -Height 700 -PassThru
        $svgChart = $m | Export-MptcpChart -Path $svg -PassThru
        $width = 0; $height = 0
        $pixels = [MptcpTest.PngPixels]::Read($png, [ref]$width, [ref]$height)
    }
    AfterAll { Remove-MptcpLab $lab; $files.Values | Remove-Item -ErrorAction Ignore }

    It 'writes a PNG of the asked size, a series per subflow' {
        $width | Should -Be 1000
        $height | Should -Be 700
        $chart.Format | Should -Be 'Png'
        $chart.Series.Count | Should -Be 2
        @($chart.Series.Color | Sort-Object -Unique).Count | Should -Be 2
    }

    It 'draws each subflow''s series in its colour' {
        foreach ($series in $chart.Series) {
            # Its lines and markers in the colour itself, its band in the colour at 60 % over the white background.
            [MptcpTest.PngPixels]::Count($pixels, $series.Color, 8) | Should -BeGreaterThan 100 -Because "$($series.Name)'s lines are drawn in $($series.Color)"
            $fill = '#' + (-join ([Convert]::FromHexString($series.Color.TrimStart('#')) | ForEach-Object { ([int][math]::Round($_ * 0.6 + 255 * 0.4)).ToString('x2') }))
            [MptcpTest.PngPixels]::Count($pixels, $fill, 8) | Should -BeGreaterThan 5000 -Because "$($series.Name)'s band is filled with $fill"
        }
        # And the picture is mostly background: the panels, not a blot.
        [MptcpTest.PngPixels]::Count($pixels, '#ffffff', 0) | Should -BeGreaterThan ($width * $height / 3)
    }

    It 'shows the slowed path carrying less after it was slowed' {
        $slow = ($m[0].Subflows | Where-Object { "$($_.ClientAddress)" -eq $lab.Addresses.ClientPath2 }).Stream
        $series = $m[0].Throughput | Where-Object { $_.Subflow -eq $slow -and $_.Direction -eq 'ClientToServer' }
        $early = ($series | Where-Object { $_.Offset -ge 0.3 -and $_.Offset -lt 1.2 } | Measure-Object BitsPerSecond -Average).Average
        $late = ($series | Where-Object { $_.Offset -ge 2.5 } | Measure-Object BitsPerSecond -Average).Average
        $late | Should -BeLessThan ($early / 3)
    }

    It 'writes the same chart as SVG, with each series'' colour in it' {
        $svgChart.Format | Should -Be 'Svg'
        $text = Get-Content $svg -Raw
        $text | Should -Match '^<\?xml|^<svg'
        foreach ($series in $svgChart.Series) {
            $rgb = [Convert]::FromHexString($series.Color.TrimStart('#'))
            $text | Should -Match ("(?i)({0}|rgb\({1},\s*{2},\s*{3}\))" -f [regex]::Escape($series.Color), $rgb[0], $rgb[1], $rgb[2])
        }
    }
}
