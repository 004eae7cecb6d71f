# Watch-MptcpPackets on real traffic in the lab: a healthy two-path transfer, a router that strips
# option 30, a router that drops the second path's SYNs, a plain TCP client. Captures are taken in the
# client namespace while the lab peer sends; the same capture saved and read back must give the same objects.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    Import-Module (Get-LabModulePath) -Force

    # In the client namespace: start the sender after a delay, capture for a while, return the objects.
    $capture = {
        param($Peer, $Server, $Port, $SendArgs, $Seconds, $Save, $Summary)
        $sendArgs = @('send', '--to', $Server, '--port', $Port, '--delay', '1.5') + $SendArgs
        Start-Process $Peer -ArgumentList $sendArgs -RedirectStandardOutput ([IO.Path]::GetTempFileName())
        $watch = @{ Port = $Port; Duration = $Seconds; SnapLength = 128 }
        if ($Save) { $watch.SaveAs = $Save }
        if ($Summary) { Watch-MptcpPackets @watch -Summary } else { Watch-MptcpPackets @watch }
    }
}

Describe 'A healthy two-path transfer, seen live' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $save = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-healthy.pcapng"
        $ssFile = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-ss.txt"
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server, $Save, $SsFile)
            # ss runs while the connection is held open, from inside the client namespace.
            $psi = [Diagnostics.ProcessStartInfo]::new('sh')
            $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("sleep 3.5; ss -Mni > '$SsFile'")
            [Diagnostics.Process]::Start($psi) | Out-Null
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '30000000', '--delay', '1.5', '--hold', '4'
            Watch-MptcpPackets -Port 5201 -Duration 7 -SnapLength 128 -Summary -SaveAs $Save
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress, $save, $ssFile
        $summary = @($r.Output)
        $ss = Get-Content $ssFile -Raw -ErrorAction Ignore
    }
    AfterAll {
        Remove-MptcpLab $lab
        Remove-Item $save, $ssFile -ErrorAction Ignore
    }

    It 'captures without errors' {
        $r.Errors | Should -BeNullOrEmpty
        $summary.Count | Should -Be 1
    }

    It 'sees one MPTCP connection with two established subflows, the second over path 2' {
        $summary[0].Outcome | Should -Be 'Mptcp'
        $summary[0].Version | Should -Be 1
        $summary[0].Subflows.Count | Should -Be 2
        foreach ($s in $summary[0].Subflows) { "$($s.Outcome)" | Should -Be 'Established' }
        ($summary[0].Subflows | Where-Object { -not $_.Initial }).ClientAddress | Should -Be $lab.Addresses.ClientPath2
    }

    It 'sees data mapped on both subflows, adding up to what was sent' {
        foreach ($s in $summary[0].Subflows) { $s.MappedBytesFromClient | Should -BeGreaterThan 0 }
        ($summary[0].Subflows | Measure-Object MappedBytesFromClient -Sum).Sum | Should -Be 30000000
    }

    It 'derives the same token the kernel reports for the connection (ss -Mni)' {
        $ss | Should -Match 'token:([0-9a-f]+)'
        $kernelToken = [Convert]::ToUInt32(([regex]::Match($ss, 'token:([0-9a-f]+)').Groups[1].Value), 16)
        $summary[0].ClientToken | Should -Be $kernelToken
    }

    It 'reads the saved pcapng back into the same summary' {
        $fromFile = @(Read-MptcpCapture -LiteralPath $save -Summary)
        $fromFile.Count | Should -Be 1
        $props = 'Outcome', 'ClientKey', 'ServerKey', 'ClientToken', 'ServerToken', 'Packets', 'FirstSeen', 'LastSeen'
        foreach ($p in $props) { "$($fromFile[0].$p)" | Should -Be "$($summary[0].$p)" -Because $p }
        for ($i = 0; $i -lt 2; $i++) {
            foreach ($p in 'Stream', 'ClientPort', 'Outcome', 'Packets', 'MappedBytesFromClient', 'MappedBytesFromServer') {
                "$($fromFile[0].Subflows[$i].$p)" | Should -Be "$($summary[0].Subflows[$i].$p)" -Because "subflow $i $p"
            }
        }
    }
}

Describe 'Packets seen live equal the same packets read from the file' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $save = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-same.pcapng"
        $r = Invoke-LabCmdlet $lab.Client $capture -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress, 5201, @('--bytes', '200000'), 5, $save, $false
    }
    AfterAll { Remove-MptcpLab $lab; Remove-Item $save -ErrorAction Ignore }

    It 'streams packet objects whose every field matches Read-MptcpCapture on the saved file' {
        $r.Errors | Should -BeNullOrEmpty
        $live = @($r.Output)
        $live.Count | Should -BeGreaterThan 10
        $file = @(Read-MptcpCapture -LiteralPath $save)
        $file.Count | Should -Be $live.Count
        for ($i = 0; $i -lt $live.Count; $i++) {
            foreach ($p in 'Number', 'Timestamp', 'Source', 'SourcePort', 'Destination', 'DestinationPort', 'TcpFlags', 'Sequence', 'Acknowledgment', 'PayloadLength', 'Stream', 'Connection') {
                "$($file[$i].$p)" | Should -Be "$($live[$i].$p)" -Because "packet $i $p"
            }
            ($file[$i].Options | ForEach-Object { $_.Raw }) -join ',' | Should -Be (($live[$i].Options | ForEach-Object { $_.Raw }) -join ',')
        }
    }
}

Describe 'Broken paths, seen live' -Tag Lab -Skip:$labSkip {
    BeforeEach {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    }
    AfterEach { Remove-MptcpLab $lab }

    It 'shows a router that strips option 30 (iptables TCPOPTSTRIP) as a fallback at the SYN-ACK' {
        Invoke-InNamespace $lab.Router iptables '-t', 'mangle', '-A', 'FORWARD', '-p', 'tcp', '-j', 'TCPOPTSTRIP', '--strip-options', '30' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client $capture -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress, 5201, @('--bytes', '10000'), 4, $null, $true
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Count | Should -Be 1
        $r.Output[0].Outcome | Should -Be 'FallbackAtSynAck'
        $r.Output[0].Subflows.Count | Should -Be 1
    }

    It 'shows a router that drops the second path''s SYNs as a join never answered' {
        $rules = @"
table inet mptl {
    chain forward_filter {
        type filter hook forward priority 0;
        ip saddr $($lab.Addresses.ClientPath2) tcp flags & (syn|ack) == syn drop
    }
}
"@
        Add-LabNftRules $lab.Router $rules
        $r = Invoke-LabCmdlet $lab.Client $capture -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress, 5201, @('--bytes', '100000', '--hold', '3'), 6, $null, $true
        $r.Errors | Should -BeNullOrEmpty
        $c = $r.Output[0]
        $c.Outcome | Should -Be 'Mptcp'
        $join = @($c.Subflows | Where-Object { -not $_.Initial })
        $join.Count | Should -BeGreaterOrEqual 1
        "$($join[0].Outcome)" | Should -Be 'SynUnanswered'
        $join[0].ClientAddress | Should -Be $lab.Addresses.ClientPath2
    }

    It 'shows a plain TCP client as never offering MPTCP' {
        $r = Invoke-LabCmdlet $lab.Client $capture -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress, 5201, @('--bytes', '10000', '--plain'), 4, $null, $true
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].Outcome | Should -Be 'PlainTcp'
        $r.Output[0].Detail | Should -Match 'plain TCP socket'
    }
}

Describe 'Watch-MptcpPackets stops cleanly, and names what it lacks' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'stops when the pipeline has taken what it wants' {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '5000000', '--delay', '1'
            Watch-MptcpPackets -Port 5201 -Duration 60 | Select-Object -First 3
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 30
        @($r.Output).Count | Should -Be 3
        $r.Output[0].Options[0].Subtype | Should -Be 'MpCapable'
    }

    It 'stops after -Count objects' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '100000', '--delay', '1'
            Watch-MptcpPackets -Port 5201 -Count 5 -Duration 60
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress
        @($r.Output).Count | Should -Be 5
    }

    It 'ends at -Duration even while packets keep arriving' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '4000000000', '--delay', '0.5' -RedirectStandardOutput /dev/null
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $n = @(Watch-MptcpPackets -Port 5201 -Duration 3 -SnapLength 128).Count
            [pscustomobject]@{ Seconds = $clock.Elapsed.TotalSeconds; Packets = $n }
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress
        $r.Output[0].Packets | Should -BeGreaterThan 100
        $r.Output[0].Seconds | Should -BeLessThan 8
    }

    It 'ends at -Duration with a slow consumer, its queue bounded, and says how many objects it did not write' {
        # 2 ms per object against a bulk transfer: the capture makes objects far faster than the pipeline takes them.
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '4000000000', '--delay', '0.5' -RedirectStandardOutput /dev/null
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $taken = 0
            Watch-MptcpPackets -Port 5201 -Duration 3 -SnapLength 128 -WarningVariable warnings | ForEach-Object { $taken++; [Threading.Thread]::Sleep(2) }
            [pscustomobject]@{ Seconds = $clock.Elapsed.TotalSeconds; Taken = $taken; Warnings = @($warnings | ForEach-Object { "$_" }) }
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress
        $o = $r.Output[0]
        $o.Seconds | Should -BeLessThan 9 -Because 'three seconds of capture and at most two of draining'
        $o.Taken | Should -BeGreaterThan 100
        $notWritten = @($o.Warnings | Where-Object { $_ -match '^(\d+) packet objects were not written' })
        $notWritten.Count | Should -Be 1 -Because "the warnings were: $($o.Warnings -join ' | ')"
        [long]([regex]::Match($notWritten[0], '^\d+').Value) | Should -BeGreaterThan 0
        $r.Errors | Should -BeNullOrEmpty
    }

    It 'writes every summary and one SaveFailed error when -SaveAs cannot be written (/dev/full)' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '20000000', '--delay', '0.5' -RedirectStandardOutput /dev/null
            Watch-MptcpPackets -Port 5201 -Duration 3 -SnapLength 128 -Summary -SaveAs /dev/full
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress
        @($r.Output).Count | Should -Be 1
        $r.Output[0].Outcome | Should -Be 'Mptcp'
        $r.Output[0].Packets | Should -BeGreaterThan 100
        @($r.Errors).Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'SaveFailed,*'
        $r.Errors[0].Category | Should -Be 'WriteError'
        $r.Errors[0].TargetObject | Should -Be '/dev/full'
    }

    It 'never passes -Count when several interfaces capture at once' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '50000000', '--delay', '1' -RedirectStandardOutput /dev/null
            Watch-MptcpPackets -Interface c0, c1 -Port 5201 -Count 7 -Duration 30
        } -ArgumentList (Get-LabPeerPath), $lab.Addresses.ServerAddress
        @($r.Output).Count | Should -Be 7
    }

    It 'says it needs CAP_NET_RAW, in one error, without it' {
        $r = Invoke-LabCmdlet $lab.Client { Watch-MptcpPackets -Duration 1 } -DropCapability net_raw
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'MissingCapability,*'
        $r.Errors[0].Message | Should -Match 'CAP_NET_RAW'
    }

    It 'names an interface that does not exist, and a filter that is not BPF' {
        # Refused at binding, naming the interfaces the namespace has.
        $r = Invoke-LabCmdlet $lab.Client { Watch-MptcpPackets -Interface nosuch0 -Duration 1 }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
        $r.Errors[0].Message | Should -Match "no interface 'nosuch0' in this network namespace \(it has .*c0"
        $r = Invoke-LabCmdlet $lab.Client { Watch-MptcpPackets -Filter 'this is not bpf' -Duration 1 }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidFilter,*'
    }
}
