# Pure logic behind the connection cmdlets, on hand-built kernel structures (offsets from
# include/uapi/linux/inet_diag.h, mptcp.h and tcp.h) and on judgments of gathered facts.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    . (Join-Path $PSScriptRoot 'Support/PacketSupport.ps1')
    function New-Bytes([int] $Length) { return , [byte[]]::new($Length) }
    function Set-U32([byte[]] $B, [int] $At, [uint32] $V) { [BitConverter]::GetBytes($V).CopyTo($B, $At) }
    function Set-U64([byte[]] $B, [int] $At, [uint64] $V) { [BitConverter]::GetBytes($V).CopyTo($B, $At) }
    function New-Deltas([hashtable] $H) { $d = [Collections.Generic.Dictionary[string, long]]::new(); foreach ($k in $H.Keys) { $d[$k] = $H[$k] }; return , $d }
}

Describe 'struct mptcp_info' {
    It 'reads every field at its offset (a 6.18-sized copy of 96 bytes)' {
        $b = New-Bytes 96
        $b[0] = 1; $b[1] = 2; $b[2] = 3; $b[3] = 4; $b[4] = 5; $b[5] = 6
        Set-U32 $b 8 3; Set-U32 $b 12 0xe27db865u; Set-U64 $b 16 100; Set-U64 $b 24 90; Set-U64 $b 32 80
        $b[40] = 2; $b[41] = 3; $b[42] = 1; Set-U32 $b 44 7; Set-U64 $b 48 11; Set-U64 $b 56 12; Set-U64 $b 64 13; Set-U64 $b 72 14; $b[80] = 2
        $i = [MptcpTools.Kernel.MptcpInfo]::Parse($b)
        $i.ExtraSubflows | Should -Be 1; $i.AddAddrSignal | Should -Be 2; $i.AddAddrAccepted | Should -Be 3
        $i.SubflowsMax | Should -Be 4; $i.AddAddrSignalMax | Should -Be 5; $i.AddAddrAcceptedMax | Should -Be 6
        $i.Flags | Should -Be 'Fallback, RemoteKeyReceived'
        $i.Token | Should -Be 0xe27db865u
        $i.WriteSequence | Should -Be 100; $i.SendUnacknowledged | Should -Be 90; $i.ReceiveNext | Should -Be 80
        $i.LocalAddressesUsed | Should -Be 2; $i.LocalAddressesMax | Should -Be 3; $i.ChecksumEnabled | Should -BeTrue
        $i.Retransmits | Should -Be 7; $i.BytesRetransmitted | Should -Be 11; $i.BytesSent | Should -Be 12
        $i.BytesReceived | Should -Be 13; $i.BytesAcked | Should -Be 14; $i.SubflowsTotal | Should -Be 2
    }

    It 'leaves what an older kernel''s shorter copy lacks as null, and refuses a copy without the basics' {
        $i = [MptcpTools.Kernel.MptcpInfo]::Parse((New-Bytes 44))
        $i.BytesSent | Should -BeNullOrEmpty
        $i.SubflowsTotal | Should -BeNullOrEmpty
        $thrown = $null; try { [MptcpTools.Kernel.MptcpInfo]::Parse((New-Bytes 39)) } catch { $thrown = $_.Exception.InnerException }
        $thrown | Should -BeOfType ([FormatException])
    }
}

Describe 'struct tcp_info' {
    It 'reads RTT (microseconds), retransmissions and byte counts at their offsets' {
        $b = New-Bytes 232
        $b[0] = 1; Set-U32 $b 16 1448; Set-U32 $b 68 6; Set-U32 $b 72 2; Set-U32 $b 80 202; Set-U32 $b 100 3
        Set-U64 $b 120 4529177; Set-U64 $b 128 55; Set-U32 $b 136 3244; Set-U64 $b 200 4529176; Set-U64 $b 208 1448
        $t = [MptcpTools.Kernel.TcpInfo]::Parse($b)
        $t.State | Should -Be 'Established'
        $t.Rtt.TotalMilliseconds | Should -Be 0.006
        $t.Mss | Should -Be 1448; $t.CongestionWindow | Should -Be 202; $t.TotalRetransmits | Should -Be 3
        $t.BytesAcked | Should -Be 4529177; $t.BytesReceived | Should -Be 55; $t.SegmentsOut | Should -Be 3244
        $t.BytesSent | Should -Be 4529176; $t.BytesRetransmitted | Should -Be 1448
    }
}

Describe 'inet_diag messages' {
    It 'builds the MPTCP dump request with the protocol in an attribute (the header field is a u8)' {
        $bytes = [MptcpTools.Kernel.SockDiag]::BuildRequest(2, 262, 0x2).Build(5)
        ConvertTo-Hex $bytes | Should -Be (@(
            '50 00 00 00 14 00 01 03 05 00 00 00 00 00 00 00'                       # nlmsghdr: 80 bytes, SOCK_DIAG_BY_FAMILY, REQUEST|DUMP
            '02 06 02 00 02 00 00 00'                                               # AF_INET, IPPROTO_TCP, ext INFO, states
            '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00'
            'ff ff ff ff ff ff ff ff'                                               # no cookie
            '08 00 03 00 06 01 00 00'                                               # INET_DIAG_REQ_PROTOCOL = 262
        ) -join ' ')
    }

    It 'reads inet_diag_msg and a subflow''s ULP attributes' {
        $m = New-Bytes 72
        $m[0] = 2; $m[1] = 1; $m[4] = 0xdd; $m[5] = 0xf4; $m[6] = 0x14; $m[7] = 0x51
        [byte[]](192, 0, 2, 2) | ForEach-Object -Begin { $k = 8 } -Process { $m[$k++] = $_ }
        [byte[]](203, 0, 113, 2) | ForEach-Object -Begin { $k = 24 } -Process { $m[$k++] = $_ }
        Set-U32 $m 40 3; Set-U32 $m 64 1000; Set-U32 $m 68 424242
        $ulp = ConvertFrom-Hex @'
34 00 13 80
  0a 00 01 00 6d 70 74 63 70 00 00 00
  24 00 03 80
    08 00 02 00 65 b8 7d e2
    05 00 0a 00 01 00 00 00
    05 00 09 00 00 00 00 00
    08 00 08 00 cc 00 00 00
'@
        $s = [MptcpTools.Kernel.SockDiag]::Parse([byte[]]($m + $ulp))
        $s.LocalAddress | Should -Be ([ipaddress]'192.0.2.2'); $s.LocalPort | Should -Be 56820
        $s.RemoteAddress | Should -Be ([ipaddress]'203.0.113.2'); $s.RemotePort | Should -Be 5201
        $s.State | Should -Be 'Established'; $s.Uid | Should -Be 1000; $s.Inode | Should -Be 424242
        $s.UlpName | Should -Be 'mptcp'
        # The listing reads the same message straight into a subflow (MptcpConnections.ParseSubflow).
        $sub = [MptcpTools.Kernel.MptcpConnections]::ParseSubflow([byte[]]($m + $ulp))
        $sub.LocalAddress | Should -Be ([ipaddress]'192.0.2.2'); $sub.LocalPort | Should -Be 56820
        $sub.RemoteAddress | Should -Be ([ipaddress]'203.0.113.2'); $sub.RemotePort | Should -Be 5201
        $sub.State | Should -Be 'Established'
        $sub.Interface | Should -Be ([MptcpTools.Kernel.InterfaceNames]::NameOf(3))
        $sub.LocalToken | Should -Be 0xe27db865u
        $sub.LocalId | Should -Be 1; $sub.RemoteId | Should -Be 0
        $sub.Flags | Should -Be 'MpJoinRemote, MpJoinLocal, FullyEstablished, Connected'
        $sub.MapSequence | Should -BeNullOrEmpty
        $sub.Rtt | Should -BeNullOrEmpty   # no tcp_info attribute in this message
    }

    It 'reads a subflow''s tcp_info in place, and skips a TCP socket whose ULP is not mptcp' {
        $m = New-Bytes 72
        $m[0] = 2; $m[1] = 1
        $info = New-Bytes 232
        Set-U32 $info 68 1500; Set-U32 $info 100 3; Set-U64 $info 120 4529177; Set-U64 $info 128 55; Set-U64 $info 200 4529176
        $attr = New-Bytes 4; [BitConverter]::GetBytes([uint16]236).CopyTo($attr, 0); $attr[2] = 2
        $ulp = ConvertFrom-Hex '1c 00 13 80  0a 00 01 00 6d 70 74 63 70 00 00 00  0c 00 03 80  08 00 02 00 01 00 00 00'
        $sub = [MptcpTools.Kernel.MptcpConnections]::ParseSubflow([byte[]]($m + $attr + $info + $ulp))
        $sub.Rtt.TotalMilliseconds | Should -Be 1.5
        $sub.Retransmissions | Should -Be 3
        $sub.BytesAcked | Should -Be 4529177; $sub.BytesReceived | Should -Be 55; $sub.BytesSent | Should -Be 4529176
        $tls = ConvertFrom-Hex '0c 00 13 80  08 00 01 00 74 6c 73 00'
        [MptcpTools.Kernel.MptcpConnections]::ParseSubflow([byte[]]($m + $attr + $info + $tls)) | Should -BeNullOrEmpty
        [MptcpTools.Kernel.MptcpConnections]::ParseSubflow([byte[]]($m + $attr + $info)) | Should -BeNullOrEmpty
    }

    It 'reads an MPTCP socket''s message and mptcp_info in place, as MptcpInfo.Parse reads them' {
        $m = New-Bytes 72
        $m[0] = 10; $m[1] = 1; $m[4] = 0x14; $m[5] = 0x51; $m[6] = 0xdd; $m[7] = 0xf4
        ([ipaddress]'2001:db8:3::2').GetAddressBytes().CopyTo($m, 8)
        ([ipaddress]'2001:db8:1::2').GetAddressBytes().CopyTo($m, 24)
        Set-U32 $m 64 1000; Set-U32 $m 68 424242
        $b = New-Bytes 96
        $b[0] = 1; $b[1] = 2; $b[2] = 3; $b[3] = 4; $b[4] = 5; $b[5] = 6
        Set-U32 $b 8 3; Set-U32 $b 12 0xe27db865u; $b[42] = 1; Set-U64 $b 48 11; Set-U64 $b 56 12; Set-U64 $b 64 13; Set-U64 $b 72 14; $b[80] = 2
        $attr = New-Bytes 4; [BitConverter]::GetBytes([uint16]100).CopyTo($attr, 0); $attr[2] = 2
        $c = [MptcpTools.Kernel.MptcpConnections]::ParseConnection([byte[]]($m + $attr + $b))
        $i = [MptcpTools.Kernel.MptcpInfo]::Parse($b)
        $c.Family | Should -Be 'IPv6'; $c.State | Should -Be 'Established'
        $c.LocalAddress | Should -Be ([ipaddress]'2001:db8:3::2'); $c.LocalPort | Should -Be 5201
        $c.RemoteAddress | Should -Be ([ipaddress]'2001:db8:1::2'); $c.RemotePort | Should -Be 56820
        $c.Uid | Should -Be 1000; $c.Inode | Should -Be 424242
        foreach ($name in 'Token', 'ExtraSubflows', 'SubflowsMax', 'AddAddrSignal', 'AddAddrAccepted', 'AddAddrSignalMax', 'AddAddrAcceptedMax',
            'Flags', 'ChecksumEnabled', 'BytesSent', 'BytesReceived', 'BytesAcked', 'BytesRetransmitted') {
            $c.$name | Should -Be $i.$name -Because $name
        }
        $c.SubflowCount | Should -Be 2
        $c.Token | Should -Be 0xe27db865u
        # An older kernel's copy without subflows_total: the initial subflow plus the extra ones.
        $short = [MptcpTools.Kernel.MptcpConnections]::ParseConnection([byte[]]($m + (ConvertFrom-Hex '30 00 02 00') + $b[0..43]))
        $short.SubflowCount | Should -Be 2
        $short.BytesSent | Should -BeNullOrEmpty
    }
}

Describe 'Path-manager events' {
    It 'reads a SUB_ESTABLISHED event with its attributes' {
        $payload = ConvertFrom-Hex @'
0a 01 00 00
08 00 01 00 60 c0 cb 44
06 00 02 00 02 00 00 00
05 00 03 00 01 00 00 00
05 00 04 00 00 00 00 00
08 00 05 00 c6 33 64 02
08 00 07 00 cb 00 71 02
06 00 09 00 88 c7 00 00
06 00 0a 00 14 51 00 00
05 00 0b 00 01 00 00 00
'@
        $e = [MptcpTools.Kernel.MptcpEvent]::Parse($payload, [datetime]::UnixEpoch, [Func[int, string]] { $null })
        $e.Type | Should -Be 'SubflowEstablished'
        $e.Token | Should -Be 0x44cbc060u
        $e.Family | Should -Be 'IPv4'
        $e.LocalId | Should -Be 1; $e.RemoteId | Should -Be 0
        $e.SourceAddress | Should -Be ([ipaddress]'198.51.100.2'); $e.SourcePort | Should -Be 35015
        $e.DestinationAddress | Should -Be ([ipaddress]'203.0.113.2'); $e.DestinationPort | Should -Be 5201
        $e.Backup | Should -BeTrue
    }

    It 'keeps an event type it does not know by number' {
        $e = [MptcpTools.Kernel.MptcpEvent]::Parse((ConvertFrom-Hex '63 01 00 00'), [datetime]::UnixEpoch, [Func[int, string]] { $null })
        $e.Type | Should -Be 'Unknown'
        $e.TypeValue | Should -Be 0x63
    }
}

Describe 'Judging a connection attempt' {
    It 'says <Expect> for <Case>' -ForEach @(
        @{ Case = 'ENOPROTOOPT from socket()'; Facts = @{ SocketErrno = 92 }; Expect = 'MptcpDisabledLocally'; Text = 'net.mptcp.enabled' }
        @{ Case = 'EPROTONOSUPPORT from socket()'; Facts = @{ SocketErrno = 93 }; Expect = 'MptcpDisabledLocally'; Text = 'no MPTCP' }
        @{ Case = 'a refused connect'; Facts = @{ ConnectErrno = 111 }; Expect = 'ConnectFailed'; Text = 'refused' }
        @{ Case = 'a timed-out connect'; Facts = @{ ConnectErrno = 110 }; Expect = 'ConnectFailed'; Text = 'timeout' }
        @{ Case = 'an MPTCP socket'; Facts = @{ IsMptcp = $true }; Expect = 'None'; Text = 'negotiated' }
        @{ Case = 'MPCapableSYNTXDrop moving'; Facts = @{ Deltas = @{ MPCapableSYNTX = 3; MPCapableSYNTXDrop = 1 } }; Expect = 'SynDropped'; Text = 'option 30' }
        @{ Case = 'MPCapableFallbackSYNACK moving'; Facts = @{ Deltas = @{ MPCapableSYNTX = 1; MPCapableFallbackSYNACK = 1 } }; Expect = 'PeerNotMptcpCapable'; Text = 'MP_CAPABLE' }
        @{ Case = 'MPCapableSYNTXDisabled moving (blackhole)'; Facts = @{ Deltas = @{ MPCapableSYNTXDisabled = 1 } }; Expect = 'MptcpDisabledLocally'; Text = 'blackhole' }
        @{ Case = 'MP_CAPABLE answered, then MP_FAIL'; Facts = @{ Deltas = @{ MPCapableSYNTX = 1; MPCapableSYNACKRX = 1; MPFailRx = 1 } }; Expect = 'FellBackLater'; Text = 'MP_FAIL' }
    ) {
        $facts = [MptcpTools.Diagnosis.ConnectivityFacts]@{
            SocketErrno   = [int]$Facts.SocketErrno
            ConnectErrno  = [int]$Facts.ConnectErrno
            IsMptcp       = [bool]$Facts.IsMptcp
            CounterDeltas = (New-Deltas ($Facts.Deltas ?? @{}))
        }
        $judged = [MptcpTools.Diagnosis.ConnectivityJudge]::Judge($facts)
        "$($judged.Item1)" | Should -Be $Expect
        $judged.Item2 | Should -Match $Text
    }
}

Describe 'Judging an application' {
    BeforeAll {
        function New-Facts([hashtable] $H) {
            [MptcpTools.Kernel.ProcessFacts]@{
                ProcessId = 42; Name = 'iperf3'; CommandLine = 'iperf3 -c 203.0.113.2'
                TcpSockets = [int]$H.Tcp; MptcpSockets = [int]$H.Mptcp; UnderMptcpize = [bool]$H.Wrap; HasMptcpSwitch = [bool]$H.Switch; PackageVersion = '3.12-1'
            }
        }
    }

    It 'says <Case>' -ForEach @(
        @{ Case = 'an MPTCP user uses MPTCP'; H = @{ Mptcp = 1 }; Uses = $true; Remedy = '^$' }
        @{ Case = 'a plain program without a switch should run under mptcpize'; H = @{ Tcp = 2 }; Uses = $false; Remedy = 'mptcpize run iperf3 -c 203\.0\.113\.2' }
        @{ Case = 'a plain program with --mptcp should use it'; H = @{ Tcp = 2; Switch = $true }; Uses = $false; Remedy = 'iperf3 --mptcp -c 203\.0\.113\.2' }
        @{ Case = 'a program under mptcpize that still uses TCP is bypassing libc'; H = @{ Tcp = 1; Wrap = $true }; Uses = $false; Remedy = 'bypass' }
        @{ Case = 'a program without sockets cannot be judged yet'; H = @{}; Uses = $false; Remedy = '^$' }
    ) {
        $report = [MptcpTools.Diagnosis.ApplicationJudge]::Judge((New-Facts $H))
        $report.UsesMptcp | Should -Be $Uses
        $report.Remediation | Should -Match $Remedy
        $report.Verdict | Should -Not -BeNullOrEmpty
    }
}

Describe 'The Debian package of a program' {
    It 'finds the package in dpkg''s lists (merged /usr too) and its version in the status file' {
        $dpkg = Join-Path $TestDrive 'dpkg'
        New-Item -ItemType Directory -Path "$dpkg/info" -Force | Out-Null
        Set-Content "$dpkg/info/iperf3.list" "/.`n/usr`n/usr/bin/iperf3"
        Set-Content "$dpkg/info/libc6:amd64.list" "/lib/x86_64-linux-gnu/libc.so.6"
        Set-Content "$dpkg/status" "Package: curl`nVersion: 7.88.1-10`n`nPackage: iperf3`nStatus: install ok installed`nVersion: 3.12-1+deb12u2`n"
        $found = [MptcpTools.Host.DebianPackages]::Owner('/usr/bin/iperf3', $dpkg)
        $found.Item1 | Should -Be 'iperf3'; $found.Item2 | Should -Be '3.12-1+deb12u2'
        ([MptcpTools.Host.DebianPackages]::Owner('/bin/iperf3', $dpkg)).Item1 | Should -Be 'iperf3'
        ([MptcpTools.Host.DebianPackages]::Owner('/usr/lib/x86_64-linux-gnu/libc.so.6', $dpkg)).Item1 | Should -Be 'libc6'
        ([MptcpTools.Host.DebianPackages]::Owner('/opt/other', $dpkg)).Item1 | Should -BeNullOrEmpty
    }
}
