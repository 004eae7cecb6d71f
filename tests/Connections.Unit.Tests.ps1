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
        # From the probe's own socket: other connections' counters (here the opposite story) do not decide.
        @{ Case = 'a socket that fell back at once, while others moved MPCapableSYNACKRX'; Facts = @{ AtConnect = $false; Retransmits = 0; Limit = 2; Deltas = @{ MPCapableSYNTX = 20; MPCapableSYNACKRX = 19; MPCapableFallbackSYNACK = 1 } }; Expect = 'PeerNotMptcpCapable'; Text = 'fell back at once' }
        @{ Case = 'a socket whose SYN was retransmitted past the fallback limit'; Facts = @{ AtConnect = $false; Retransmits = 2; Limit = 2; Deltas = @{} }; Expect = 'SynDropped'; Text = 'retransmitted 2 time' }
        @{ Case = 'one retransmission, under the limit: a lost SYN, then a plain peer'; Facts = @{ AtConnect = $false; Retransmits = 1; Limit = 2; Deltas = @{} }; Expect = 'PeerNotMptcpCapable'; Text = 'peer does not speak MPTCP' }
        @{ Case = 'a socket MPTCP at connect and plain at the end'; Facts = @{ AtConnect = $true; Deltas = @{ InfiniteMapTx = 1 } }; Expect = 'FellBackLater'; Text = 'infinite mapping' }
    ) {
        $facts = [MptcpTools.Diagnosis.ConnectivityFacts]@{
            SocketErrno   = [int]$Facts.SocketErrno
            ConnectErrno  = [int]$Facts.ConnectErrno
            IsMptcp       = [bool]$Facts.IsMptcp
            CounterDeltas = (New-Deltas ($Facts.Deltas ?? @{}))
            MptcpAtConnect = $Facts.AtConnect
            HandshakeRetransmits = $Facts.Retransmits
            SynRetransBeforeFallback = $Facts.Limit
        }
        $judged = [MptcpTools.Diagnosis.ConnectivityJudge]::Judge($facts)
        "$($judged.Item1)" | Should -Be $Expect
        $judged.Item2 | Should -Match $Text
    }
}

Describe 'Judging an application' {
    BeforeAll {
        function New-Facts([hashtable] $H) {
            $f = [MptcpTools.Kernel.ProcessFacts]@{
                ProcessId = 42; Name = 'iperf3'; CommandLine = 'iperf3 -c 203.0.113.2'
                TcpSockets = [int]$H.Tcp; MptcpSockets = [int]$H.Mptcp; UnderMptcpize = [bool]$H.Wrap; HasMptcpSwitch = [bool]$H.Switch; PackageVersion = '3.12-1'
            }
            $more = @{}
            foreach ($k in $H.Keys | Where-Object { $_ -notin 'Tcp', 'Mptcp', 'Wrap', 'Switch' }) { $more[$k] = $H[$k] }
            # Only set values: PowerShell would turn a null string into ''.
            if ($more.Count) { $f = [MptcpTools.Kernel.ProcessFacts]$(foreach ($p in $f.PSObject.Properties) { if (-not $more.ContainsKey($p.Name) -and $null -ne $p.Value) { $more[$p.Name] = $p.Value } }; foreach ($k in @($more.Keys)) { if ($null -eq $more[$k]) { $more.Remove($k) } }; $more) }
            $f
        }
    }

    It 'says <Case>' -ForEach @(
        @{ Case = 'an MPTCP user uses MPTCP'; H = @{ Mptcp = 1 }; Uses = $true; Remedy = '^$'; Kind = 'None' }
        @{ Case = 'a plain program without a switch should run under mptcpize'; H = @{ Tcp = 2 }; Uses = $false; Remedy = 'mptcpize run iperf3 -c 203\.0\.113\.2'; Kind = 'MptcpizeRun' }
        @{ Case = 'a plain program with --mptcp should use it'; H = @{ Tcp = 2; Switch = $true }; Uses = $false; Remedy = 'iperf3 --mptcp -c 203\.0\.113\.2'; Kind = 'OwnSwitch' }
        @{ Case = 'a program under mptcpize that still uses TCP is bypassing libc'; H = @{ Tcp = 1; Wrap = $true }; Uses = $false; Remedy = 'bypass'; Kind = 'CannotConvert' }
        @{ Case = 'a program without sockets cannot be judged yet'; H = @{}; Uses = $false; Remedy = '^$'; Kind = 'None' }
    ) {
        $report = [MptcpTools.Diagnosis.ApplicationJudge]::Judge((New-Facts $H))
        $report.UsesMptcp | Should -Be $Uses
        $report.Remediation | Should -Match $Remedy
        "$($report.Remedy)" | Should -Be $Kind
        $report.Verdict | Should -Not -BeNullOrEmpty
    }

    It 'picks <Case>' -ForEach @(
        # The program's own switch, where the installed version (or build) has it.
        @{ Case = 'iperf3''s own switch from 3.19 by the package version'; H = @{ Tcp = 2; PackageVersion = '3.19-1'; Package = 'iperf3' }; Kind = 'OwnSwitch'; Text = 'iperf3 has --mptcp from 3\.19, and 3\.19-1 is installed\): iperf3 --mptcp -c 203\.0\.113\.2$'; Switch = '--mptcp' }
        @{ Case = 'mptcpize for iperf3 3.12, saying from which version it has the switch'; H = @{ Tcp = 2; PackageVersion = '3.12-1+deb12u2'; Package = 'iperf3' }; Kind = 'MptcpizeRun'; Text = '^This iperf3 3\.12-1\+deb12u2 has no MPTCP switch \(iperf3 has --mptcp from 3\.19\): run it under mptcpize \(package mptcpize\): mptcpize run iperf3 -c 203\.0\.113\.2$' }
        @{ Case = 'the switch of a build that contains it, whatever its version says (a backport)'; H = @{ Tcp = 2; PackageVersion = '3.12-1'; Package = 'iperf3'; SwitchMarkersFound = [string[]]@('--mptcp') }; Kind = 'OwnSwitch'; Text = 'its installed build contains --mptcp\): iperf3 --mptcp' }
        @{ Case = 'curl''s --mptcp from 8.9.0'; H = @{ Tcp = 1; Name = 'curl'; CommandLine = 'curl -O http://203.0.113.2/f'; Package = 'curl'; PackageVersion = '8.9.1-2' }; Kind = 'OwnSwitch'; Text = 'curl --mptcp -O http://203\.0\.113\.2/f$' }
        @{ Case = 'mptcpize for Debian 12''s curl 7.88'; H = @{ Tcp = 1; Name = 'curl'; CommandLine = 'curl -O http://203.0.113.2/f'; Package = 'curl'; PackageVersion = '7.88.1-10+deb12u8' }; Kind = 'MptcpizeRun'; Text = 'curl has --mptcp from 8\.9\.0\): run it under mptcpize .*: mptcpize run curl -O' }
        @{ Case = 'nginx''s listen ... multipath when its build has it'; H = @{ Tcp = 3; TcpListeners = 2; Name = 'nginx'; CommandLine = 'nginx: worker process'; Package = 'nginx'; PackageVersion = '1.29.7-1'; SwitchMarkersFound = [string[]]@('multipath'); ServiceUnit = 'nginx.service' }; Kind = 'OwnConfiguration'; Text = 'listen 443 ssl multipath;'; Switch = 'multipath' }
        @{ Case = 'mptcpize enable for an nginx service whose build lacks it'; H = @{ Tcp = 3; TcpListeners = 2; Name = 'nginx'; CommandLine = 'nginx: worker process'; Package = 'nginx-core'; PackageVersion = '1.22.1-9'; ServiceUnit = 'nginx.service' }; Kind = 'MptcpizeService'; Text = 'has no MPTCP option \(this build of nginx does not contain multipath\)\. It runs as the systemd service nginx\.service: mptcpize enable nginx\.service \(package mptcpize\), then systemctl restart nginx\.service\.' }
        @{ Case = 'HAProxy''s mptcp@ addresses from 3.1'; H = @{ Tcp = 2; TcpListeners = 1; Name = 'haproxy'; CommandLine = 'haproxy -f /etc/haproxy/haproxy.cfg'; Package = 'haproxy'; PackageVersion = '3.1.5-1' }; Kind = 'OwnConfiguration'; Text = 'bind mptcp@0\.0\.0\.0:443'; Switch = 'mptcp@' }
        @{ Case = 'mptcpize for HAProxy 2.6'; H = @{ Tcp = 2; TcpListeners = 1; Name = 'haproxy'; CommandLine = 'haproxy -f /etc/haproxy/haproxy.cfg'; Package = 'haproxy'; PackageVersion = '2.6.12-1+deb12u1' }; Kind = 'MptcpizeRun'; Text = 'HAProxy has mptcp@ from 3\.1\): run it under mptcpize' }
        # Go: only Go itself can ask for MPTCP.
        @{ Case = 'a rebuild for a Go 1.19 program, never mptcpize'; H = @{ Tcp = 1; Name = 'goprobe'; CommandLine = 'goprobe dial 203.0.113.2:5401'; IsGoBinary = $true; GoVersion = 'go1.19.8'; IsStaticallyLinked = $true; PackageVersion = $null }; Kind = 'GoRebuild'; Text = 'built with go1\.19\.8, which has no MPTCP: rebuild it with Go 1\.21 or later .*mptcpize cannot convert it: Go makes its socket\(\) system calls itself' }
        @{ Case = 'a rebuild for Go before 1.18, which kept no version'; H = @{ Tcp = 1; Name = 'old'; CommandLine = 'old'; IsGoBinary = $true; PackageVersion = $null }; Kind = 'GoRebuild'; Text = 'built with Go before 1\.18' }
        @{ Case = 'GODEBUG for a Go 1.22 client'; H = @{ Tcp = 1; Name = 'app'; CommandLine = 'app --to 203.0.113.2'; IsGoBinary = $true; GoVersion = 'go1.22.4'; PackageVersion = $null }; Kind = 'GoDebug'; Text = 'It is a Go 1\.22 program: Turn Go''s MPTCP on for it: GODEBUG=multipathtcp=1 app --to 203\.0\.113\.2\. mptcpize cannot' }
        @{ Case = 'GODEBUG in the unit of a Go 1.22 service'; H = @{ Tcp = 1; Name = 'app'; CommandLine = 'app'; IsGoBinary = $true; GoVersion = 'go1.22.4'; ServiceUnit = 'app.service'; PackageVersion = $null }; Kind = 'GoDebug'; Text = 'systemctl edit app\.service, add Environment=GODEBUG=multipathtcp=1 to its \[Service\] section, then systemctl restart app\.service' }
        @{ Case = 'why a Go 1.24 server''s listeners are plain TCP although Go listens with MPTCP by default'; H = @{ Tcp = 1; TcpListeners = 1; Name = 'srv'; CommandLine = 'srv'; IsGoBinary = $true; GoVersion = 'go1.24.1'; PackageVersion = $null }; Kind = 'GoDebug'; Text = 'Go 1\.24 and later listen with MPTCP by default, yet its listeners are plain TCP: the program turns it off itself' }
        @{ Case = 'the GODEBUG that turns a Go 1.24 server''s MPTCP off'; H = @{ Tcp = 1; TcpListeners = 1; Name = 'srv'; CommandLine = 'srv'; IsGoBinary = $true; GoVersion = 'go1.24.1'; GoDebug = 'http2client=0,multipathtcp=0'; PackageVersion = $null }; Kind = 'GoDebug'; Text = 'GODEBUG=multipathtcp=0 turns it off' }
        @{ Case = 'that Go 1.24 clients still need GODEBUG'; H = @{ Tcp = 1; Name = 'cli'; CommandLine = 'cli'; IsGoBinary = $true; GoVersion = 'go1.24.1'; PackageVersion = $null }; Kind = 'GoDebug'; Text = 'only for listeners, not for the connections it opens\. Turn Go''s MPTCP on for it: GODEBUG=multipathtcp=1 cli' }
        @{ Case = 'that GODEBUG already asks for MPTCP'; H = @{ Tcp = 1; Name = 'cli'; CommandLine = 'cli'; IsGoBinary = $true; GoVersion = 'go1.22.0'; GoDebug = 'multipathtcp=1'; PackageVersion = $null }; Kind = 'GoDebug'; Text = 'GODEBUG already asks for MPTCP \(multipathtcp=1\)' }
        # Socket activation: the socket is systemd's, not the program's.
        @{ Case = 'SocketProtocol=mptcp for a socket-activated service on systemd 257'; H = @{ Tcp = 1; TcpListeners = 1; Name = 'web'; CommandLine = 'web'; SocketActivated = $true; SocketUnit = 'web.socket'; ServiceUnit = 'web.service'; SystemdVersion = '257.4-1'; PackageVersion = $null }; Kind = 'SocketUnit'; Text = 'add SocketProtocol=mptcp to the \[Socket\] section \(systemctl edit web\.socket; systemd 257 and later\), then systemctl restart web\.socket web\.service\.' }
        @{ Case = 'that systemd 252 cannot make a socket-activated service MPTCP'; H = @{ Tcp = 1; TcpListeners = 1; Name = 'web'; CommandLine = 'web'; SocketActivated = $true; ServiceUnit = 'web@2.service'; SystemdVersion = '252.39-1~deb12u2'; PackageVersion = $null }; Kind = 'CannotConvert'; Text = 'comes from systemd \(web\.socket\), and this systemd 252\.39-1~deb12u2 predates SocketProtocol=mptcp \(257\)' }
        # Statically linked: mptcpize cannot.
        @{ Case = 'plainly that mptcpize cannot convert a static program'; H = @{ Tcp = 1; Name = 'busybox'; CommandLine = 'busybox nc 203.0.113.2 5401'; IsStaticallyLinked = $true; IsGoBinary = $false; PackageVersion = $null }; Kind = 'CannotConvert'; Text = '^It is statically linked: mptcpize cannot convert it' }
        @{ Case = 'why a static program under mptcpize stays TCP'; H = @{ Tcp = 1; Wrap = $true; Name = 'busybox'; CommandLine = 'busybox nc 203.0.113.2 5401'; IsStaticallyLinked = $true; PackageVersion = $null }; Kind = 'CannotConvert'; Text = 'runs under mptcpize, but it is statically linked: the library mptcpize preloads never loads into it' }
        # Services of dynamically linked programs.
        @{ Case = 'mptcpize enable for a system service'; H = @{ Tcp = 1; Name = 'sshd'; CommandLine = 'sshd: /usr/sbin/sshd -D'; IsStaticallyLinked = $false; ServiceUnit = 'ssh.service'; PackageVersion = $null }; Kind = 'MptcpizeService'; Text = '^It runs as the systemd service ssh\.service: mptcpize enable ssh\.service' }
        @{ Case = 'mptcpize run in the ExecStart of a user service'; H = @{ Tcp = 1; Name = 'syncer'; CommandLine = 'syncer'; ServiceUnit = 'syncer.service'; IsUserService = $true; PackageVersion = $null }; Kind = 'MptcpizeService'; Text = 'user service syncer\.service: .*systemctl --user edit --full syncer\.service' }
    ) {
        $report = [MptcpTools.Diagnosis.ApplicationJudge]::Judge((New-Facts $H))
        $report.UsesMptcp | Should -BeFalse
        "$($report.Remedy)" | Should -Be $Kind
        $report.Remediation | Should -Match $Text
        if ($Switch) { $report.MptcpSwitch | Should -Be $Switch }
    }

    It 'carries what it found about the executable into the report' {
        $report = [MptcpTools.Diagnosis.ApplicationJudge]::Judge((New-Facts @{ Tcp = 1; IsGoBinary = $true; GoVersion = 'go1.19.8'; IsStaticallyLinked = $true; ServiceUnit = 'a.service'; SocketActivated = $true; SocketUnit = 'a.socket' }))
        $report.IsGoBinary | Should -BeTrue
        $report.GoVersion | Should -Be 'go1.19.8'
        $report.IsStaticallyLinked | Should -BeTrue
        $report.ServiceUnit | Should -Be 'a.service'
        $report.SocketUnit | Should -Be 'a.socket'
    }

    It 'reads the Go release from <Text>' -ForEach @(
        @{ Text = 'go1.19.8'; Expected = '1.19' }
        @{ Text = 'go1.24rc1'; Expected = '1.24' }
        @{ Text = 'devel go1.25-8c8b8a1 Tue Feb 4 10:00:00 2025 +0000'; Expected = '1.25' }
        @{ Text = 'go1.22.4 X:boringcrypto'; Expected = '1.22' }
    ) {
        "$([MptcpTools.Diagnosis.ApplicationJudge]::ParseGoVersion($Text))" | Should -Be $Expected
    }
}

Describe 'Debian versions, compared as dpkg does' {
    BeforeDiscovery {
        $pairs = @(
            @{ A = '3.12-1+deb12u2'; B = '3.19' }, @{ A = '3.19-1'; B = '3.19' }, @{ A = '8.9.0~rc1-1'; B = '8.9.0' }, @{ A = '1:1.0'; B = '2.0' },
            @{ A = '252.39-1~deb12u2'; B = '257' }, @{ A = '257.4-1'; B = '257' }, @{ A = '1.0a'; B = '1.0' }, @{ A = '1.0'; B = '1.0+b1' },
            @{ A = '2.6.12-1+deb12u1'; B = '3.1' }, @{ A = '3.1.0-1'; B = '3.1' }, @{ A = '1.22.1-9'; B = '1.22.1-9' }, @{ A = '1.0~~'; B = '1.0~' },
            @{ A = '007'; B = '7' }, @{ A = '2:0.1'; B = '1:9.9' }, @{ A = '1.2-3.4'; B = '1.2-3.10' }, @{ A = '1.2.a'; B = '1.2.+' })
    }

    It 'orders <A> against <B> as dpkg --compare-versions does' -ForEach $pairs {
        $ours = [Math]::Sign([MptcpTools.Host.DebianPackages]::CompareVersions($A, $B))
        if (Get-Command dpkg -CommandType Application -ErrorAction Ignore) {
            & dpkg --compare-versions $A lt $B
            $expected = if ($LASTEXITCODE -eq 0) { -1 } else { & dpkg --compare-versions $A eq $B; if ($LASTEXITCODE -eq 0) { 0 } else { 1 } }
            $ours | Should -Be $expected
        }
        [Math]::Sign([MptcpTools.Host.DebianPackages]::CompareVersions($B, $A)) | Should -Be (-$ours)
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
