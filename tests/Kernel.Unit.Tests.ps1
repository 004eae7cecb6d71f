# Pure logic of the Kernel layer and the error mapping, on fixtures: no root, no namespaces.
# Expected bytes are written out by hand from the UAPI layouts (linux/netlink.h, genetlink.h,
# mptcp_pm.h), not produced by the code under test.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    $fixtures = Join-Path $PSScriptRoot 'Fixtures'

    function ConvertFrom-Hex([string] $Hex) {
        $clean = $Hex -replace '[^0-9a-fA-F]', ''
        # The comma keeps the byte[] whole: PowerShell would unroll it into object[] on output.
        return , [byte[]]($(for ($i = 0; $i -lt $clean.Length; $i += 2) { [Convert]::ToByte($clean.Substring($i, 2), 16) }))
    }
    # The .NET exception a method threw, without PowerShell's MethodInvocationException around it.
    function Get-ThrownException([scriptblock] $Call) {
        try { & $Call; return $null }
        catch {
            $e = $_.Exception
            while ($e -is [System.Management.Automation.MethodInvocationException] -and $e.InnerException) { $e = $e.InnerException }
            return $e
        }
    }
    function ConvertTo-Hex([byte[]] $Bytes) { ($Bytes | ForEach-Object { $_.ToString('x2') }) -join ' ' }
}

Describe 'Netlink request encoding' {
    It 'encodes ADD_ADDR for an IPv4 subflow,backup endpoint on an interface as the UAPI lays it out' {
        $request = [MptcpTools.Kernel.MptcpPathManager]::BuildAddEndpoint(0x1d, 1, [ipaddress]'198.51.100.9', 0, 0,
            [MptcpTools.Kernel.MptcpEndpointFlags]'Subflow,Backup', 4)
        $expected = ConvertFrom-Hex @'
38 00 00 00  1d 00 05 00  07 00 00 00  00 00 00 00
01 01 00 00
24 00 01 80
  06 00 01 00 02 00 00 00
  08 00 03 00 c6 33 64 09
  08 00 06 00 06 00 00 00
  08 00 07 00 04 00 00 00
'@
        ConvertTo-Hex $request.Build(7) | Should -Be (ConvertTo-Hex $expected)
    }

    It 'encodes an IPv6 signal endpoint with id and port (port in host order, as the kernel parses it)' {
        $request = [MptcpTools.Kernel.MptcpPathManager]::BuildAddEndpoint(0x1d, 1, [ipaddress]'2001:db8::9', 9, 8080,
            [MptcpTools.Kernel.MptcpEndpointFlags]::Signal, 0)
        $expected = ConvertFrom-Hex @'
4c 00 00 00  1d 00 05 00  01 00 00 00  00 00 00 00
01 01 00 00
38 00 01 80
  06 00 01 00 0a 00 00 00
  14 00 04 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 09
  05 00 02 00 09 00 00 00
  06 00 05 00 90 1f 00 00
  08 00 06 00 01 00 00 00
'@
        ConvertTo-Hex $request.Build(1) | Should -Be (ConvertTo-Hex $expected)
    }

    It 'refuses to build a message with an unclosed nested attribute' {
        $builder = [MptcpTools.Kernel.NetlinkRequestBuilder]::Generic(0x1d, 1, 1, 5).BeginNested(1)
        { $builder.Build(1) } | Should -Throw '*unclosed*'
    }
}

Describe 'Netlink reply decoding' {
    It 'reads a GET_ADDR answer into an endpoint' {
        $payload = ConvertFrom-Hex @'
03 01 00 00
2c 00 01 80
  06 00 01 00 02 00 00 00
  05 00 02 00 01 00 00 00
  08 00 03 00 c6 33 64 02
  08 00 06 00 02 00 00 00
  08 00 07 00 03 00 00 00
'@
        $endpoint = [MptcpTools.Kernel.MptcpPathManager]::ParseEndpoint($payload, [Func[int, string]] { param($i) "if$i" })
        $endpoint.Id | Should -Be 1
        $endpoint.Address | Should -Be ([ipaddress]'198.51.100.2')
        $endpoint.Flags | Should -Be ([MptcpTools.Kernel.MptcpEndpointFlags]::Subflow)
        $endpoint.InterfaceIndex | Should -Be 3
        $endpoint.Interface | Should -Be 'if3'
        $endpoint.Port | Should -Be 0
    }

    It 'keeps flag bits it does not know by value' {
        $payload = ConvertFrom-Hex @'
03 01 00 00
1c 00 01 80
  05 00 02 00 07 00 00 00
  08 00 03 00 c0 00 02 07
  08 00 06 00 42 00 00 00
'@
        $endpoint = [MptcpTools.Kernel.MptcpPathManager]::ParseEndpoint($payload, [Func[int, string]] { param($i) $null })
        $endpoint.RawFlags | Should -Be 0x42
        ($endpoint.Flags -band [MptcpTools.Kernel.MptcpEndpointFlags]::Subflow) | Should -Be ([MptcpTools.Kernel.MptcpEndpointFlags]::Subflow)
        [uint32]$endpoint.Flags | Should -Be 0x42
        $endpoint.Interface | Should -BeNullOrEmpty
    }

    It 'reads GET_LIMITS attributes' {
        $payload = ConvertFrom-Hex '06 01 00 00  08 00 02 00 03 00 00 00  08 00 03 00 05 00 00 00'
        $limit = [MptcpTools.Kernel.MptcpPathManager]::ParseLimits($payload)
        $limit.AddAddrAccepted | Should -Be 3
        $limit.Subflows | Should -Be 5
    }

    It 'reads the errno and the extended-ack text of a capped error' {
        $datagram = ConvertFrom-Hex @'
30 00 00 00  02 00 00 03  09 00 00 00  00 00 00 00
ef ff ff ff
28 00 00 00  1d 00 05 00  09 00 00 00  00 00 00 00
0a 00 01 00  62 61 64 21 00 00 00 00
'@
        $messages = [MptcpTools.Kernel.NetlinkMessage]::ParseDatagram($datagram)
        $messages.Count | Should -Be 1
        $messages[0].Type | Should -Be 2
        $err = $messages[0].ReadError()
        $err.Item1 | Should -Be 17
        $err.Item2 | Should -Be 'bad!'
    }

    It 'reads an ack (errno 0) without text' {
        $datagram = ConvertFrom-Hex '24 00 00 00  02 00 00 01  09 00 00 00  00 00 00 00  00 00 00 00  14 00 00 00 1d 00 05 00 09 00 00 00 00 00 00 00'
        $err = [MptcpTools.Kernel.NetlinkMessage]::ParseDatagram($datagram)[0].ReadError()
        $err.Item1 | Should -Be 0
        $err.Item2 | Should -BeNullOrEmpty
    }

    It 'reads the family id, version and multicast groups of an nlctrl answer' {
        $payload = ConvertFrom-Hex @'
01 02 00 00
0d 00 02 00 6d 70 74 63 70 5f 70 6d 00 00 00 00
06 00 01 00 1d 00 00 00
08 00 03 00 01 00 00 00
24 00 07 80
  20 00 01 80
    08 00 02 00 0b 00 00 00
    14 00 01 00 6d 70 74 63 70 5f 70 6d 5f 65 76 65 6e 74 73 00
'@
        $family = [MptcpTools.Kernel.GenericNetlinkFamily]::Parse($payload)
        $family.Name | Should -Be 'mptcp_pm'
        $family.Id | Should -Be 0x1d
        $family.Version | Should -Be 1
        $family.MulticastGroups['mptcp_pm_events'] | Should -Be 11
    }

    It 'throws a FormatException, not something worse, on <Case>' -ForEach @(
        @{ Case = 'an attribute longer than the buffer'; Hex = '08 00 01 00 01 00'; Kind = 'Attributes' }
        @{ Case = 'an attribute shorter than its header'; Hex = '02 00 01 00 01 00 00 00'; Kind = 'Attributes' }
        @{ Case = 'a message longer than the datagram'; Hex = 'ff 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00'; Kind = 'Datagram' }
        @{ Case = 'a message shorter than its header'; Hex = '04 00 00 00 02 00 00 00 01 00 00 00 00 00 00 00'; Kind = 'Datagram' }
    ) {
        $bytes = ConvertFrom-Hex $Hex
        $call = if ($Kind -eq 'Attributes') { { [MptcpTools.Kernel.NetlinkAttributes]::Parse($bytes) } }
        else { { [MptcpTools.Kernel.NetlinkMessage]::ParseDatagram($bytes) } }
        Get-ThrownException $call | Should -BeOfType ([FormatException])
    }

    It 'reports an endpoint message without its address attribute as malformed' {
        $payload = ConvertFrom-Hex '03 01 00 00  08 00 02 00 01 00 00 00'
        Get-ThrownException { [MptcpTools.Kernel.MptcpPathManager]::ParseEndpoint($payload, [Func[int, string]] { $null }) } |
            Should -BeOfType ([FormatException])
    }
}

Describe 'The MPTcpExt counters of /proc/net/netstat' {
    It 'agrees with nstat on the same snapshot (a lab client after one two-subflow transfer)' {
        $text = Get-Content -Raw (Join-Path $fixtures 'netstat-6.18-client.txt')
        $ours = [MptcpTools.Kernel.ProcFiles]::ParseNetstat($text, 'MPTcpExt')
        $nstat = (Get-Content -Raw (Join-Path $fixtures 'nstat-6.18-client.json') | ConvertFrom-Json).kernel
        $expected = $nstat.PSObject.Properties | Where-Object Name -like 'MPTcpExt*'
        $ours.Count | Should -Be @($expected).Count
        foreach ($counter in $ours) {
            $counter.Value | Should -Be $nstat."MPTcpExt$($counter.Key)" -Because $counter.Key
        }
        ($ours | Where-Object Key -eq 'MPJoinSynTx').Value | Should -Be 1
    }

    It 'finds no counters of a prefix the file lacks' {
        [MptcpTools.Kernel.ProcFiles]::ParseNetstat("TcpExt: A B`nTcpExt: 1 2`n", 'MPTcpExt').Count | Should -Be 0
    }

    It 'rejects a header and value line of different lengths' {
        Get-ThrownException { [MptcpTools.Kernel.ProcFiles]::ParseNetstat("MPTcpExt: A B`nMPTcpExt: 1`n", 'MPTcpExt') } | Should -BeOfType ([FormatException])
    }

    It 'Get-MptcpCounter -Path filters by wildcard, strips a given prefix and explains what matters' {
        $path = Join-Path $fixtures 'netstat-6.18-client.txt'
        $join = @(Get-MptcpCounter -Path $path -Name 'MPTcpExtMPJoinSyn*')
        $join.Name | Should -Be @('MPJoinSynRx', 'MPJoinSynBackupRx', 'MPJoinSynAckRx', 'MPJoinSynAckBackupRx', 'MPJoinSynAckHMacFailure', 'MPJoinSynTx', 'MPJoinSynTxCreatSkErr', 'MPJoinSynTxBindErr', 'MPJoinSynTxConnectErr')
        ($join | Where-Object Name -eq 'MPJoinSynTx').Description | Should -Match 'extra subflows'
        @(Get-MptcpCounter -Path $path -NonZero).Name | Should -Be @('MPCapableSYNTX', 'MPCapableSYNACKRX', 'MPJoinSynAckRx', 'MPJoinSynTx', 'SndWndShared')
    }

    It 'Get-MptcpCounter reports a file without MPTcpExt as NotSupported, and a missing one as NotFound' {
        $plain = Join-Path $TestDrive 'netstat'
        Set-Content $plain "TcpExt: A`nTcpExt: 1"
        Get-MptcpCounter -Path $plain -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'NotSupported,*'
        $e[0].TargetObject | Should -Be $plain
        Get-MptcpCounter -Path (Join-Path $TestDrive 'nope') -ErrorVariable e2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e2[0].FullyQualifiedErrorId | Should -BeLike 'NotFound,*'
        $e2[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'Get-MptcpCounter -Interval takes seconds and reports the change' {
        $c = @(Get-MptcpCounter -Path (Join-Path $fixtures 'netstat-6.18-client.txt') -Name MPJoinSynTx -Interval 0.2)
        $c.Count | Should -Be 1
        $c[0].Interval | Should -Be ([timespan]::FromMilliseconds(200))
        $c[0].Delta | Should -Be 0
        { Get-MptcpCounter -Interval 'soon' } | Should -Throw -ErrorId 'ParameterArgumentTransformationError,MptcpTools.Commands.GetMptcpCounterCommand'
    }
}

Describe 'Kernel configuration and protocols' {
    It 'reads CONFIG_MPTCP=<Value> as <Mode>' -ForEach @(
        @{ Value = 'y'; Text = "CONFIG_INET=y`nCONFIG_MPTCP=y`nCONFIG_MPTCP_IPV6=y"; Mode = 'BuiltIn' }
        @{ Value = 'm'; Text = "CONFIG_MPTCP=m"; Mode = 'Module' }
        @{ Value = 'not set'; Text = "# CONFIG_MPTCP is not set"; Mode = 'NotBuilt' }
        @{ Value = 'absent'; Text = "CONFIG_INET=y"; Mode = 'NotBuilt' }
    ) {
        [MptcpTools.Kernel.ProcFiles]::ParseKernelConfig($Text) | Should -Be $Mode
    }

    It 'sees MPTCP in /proc/net/protocols only when listed' {
        $listed = "protocol  size sockets  memory press maxhdr  slab module`nMPTCPv6   2048      0       0   no       0   yes  kernel`nMPTCP     1904      0       0   no       0   yes  kernel`nTCP       2432      3       1   no     320   yes  kernel"
        [MptcpTools.Kernel.ProcFiles]::ProtocolRegistered($listed) | Should -BeTrue
        [MptcpTools.Kernel.ProcFiles]::ProtocolRegistered(($listed -split "`n" | Where-Object { $_ -notmatch '^MPTCP' }) -join "`n") | Should -BeFalse
    }

    It 'reads CAP_NET_ADMIN from a status file' {
        $status = Join-Path $TestDrive 'status'
        Set-Content $status "Name:`tpwsh`nCapEff:`t000001ffffffffff"
        [MptcpTools.Kernel.Capabilities]::Has(12, $status) | Should -BeTrue
        Set-Content $status "Name:`tpwsh`nCapEff:`t0000000000000000"
        [MptcpTools.Kernel.Capabilities]::Has(12, $status) | Should -BeFalse
        Set-Content $status "Name:`tpwsh"
        [MptcpTools.Kernel.Capabilities]::Has(12, $status) | Should -BeNullOrEmpty
    }
}

Describe 'Persistent sysctl files, in systemd-sysctl order' {
    BeforeEach {
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
        foreach ($d in 'etc/sysctl.d', 'run/sysctl.d', 'usr/lib/sysctl.d') { New-Item -ItemType Directory -Path (Join-Path $root $d) -Force | Out-Null }
        function Write-Conf([string] $Path, [string] $Text) { Set-Content -LiteralPath (Join-Path $root $Path) -Value $Text }
    }

    It 'applies files by name across directories, so the later name wins' {
        Write-Conf 'usr/lib/sysctl.d/90-vendor.conf' 'net.mptcp.enabled = 0'
        Write-Conf 'etc/sysctl.d/10-admin.conf' 'net.mptcp.enabled = 1'
        $problems = $null
        $settings = [MptcpTools.Host.SysctlPersistence]::Read($root, [ref]$problems)
        $settings.File | Should -Be @('/etc/sysctl.d/10-admin.conf', '/usr/lib/sysctl.d/90-vendor.conf')
        ($settings | Where-Object Effective).Value | Should -Be '0'
        ($settings | Where-Object Effective).File | Should -Be '/usr/lib/sysctl.d/90-vendor.conf'
    }

    It 'lets a file in /etc mask the same name in /run and /usr/lib, and a link to /dev/null disable it' {
        Write-Conf 'usr/lib/sysctl.d/50-mptcp.conf' 'net.mptcp.enabled = 0'
        Write-Conf 'run/sysctl.d/50-mptcp.conf' 'net.mptcp.enabled = 2'
        Write-Conf 'etc/sysctl.d/50-mptcp.conf' 'net.mptcp.enabled = 1'
        Write-Conf 'usr/lib/sysctl.d/60-other.conf' 'net.mptcp.checksum_enabled = 1'
        New-Item -ItemType SymbolicLink -Path (Join-Path $root 'etc/sysctl.d/60-other.conf') -Target /dev/null | Out-Null
        $problems = $null
        $settings = [MptcpTools.Host.SysctlPersistence]::Read($root, [ref]$problems)
        @($settings).Count | Should -Be 1
        $settings[0].File | Should -Be '/etc/sysctl.d/50-mptcp.conf'
        $settings[0].Value | Should -Be '1'
    }

    It 'reads /etc/sysctl.conf last, and once when 99-sysctl.conf links to it' {
        Write-Conf 'etc/sysctl.conf' "# old guide`nnet.mptcp.mptcp_enabled=1`nnet.mptcp.enabled=1"
        Write-Conf 'etc/sysctl.d/95-late.conf' 'net.mptcp.enabled=0'
        $problems = $null
        $settings = [MptcpTools.Host.SysctlPersistence]::Read($root, [ref]$problems)
        ($settings | Where-Object { $_.Key -eq 'net.mptcp.enabled' -and $_.Effective }).File | Should -Be '/etc/sysctl.conf'
        New-Item -ItemType SymbolicLink -Path (Join-Path $root 'etc/sysctl.d/99-sysctl.conf') -Target (Join-Path $root 'etc/sysctl.conf') | Out-Null
        $settings = [MptcpTools.Host.SysctlPersistence]::Read($root, [ref]$problems)
        @($settings | Where-Object Key -eq 'net.mptcp.mptcp_enabled').Count | Should -Be 1
        ($settings | Where-Object Key -eq 'net.mptcp.mptcp_enabled').Line | Should -Be 2
    }

    It 'understands slash keys, "-" prefixes, ";" comments and blank lines' {
        Write-Conf 'etc/sysctl.d/50-x.conf' "; comment`n`n  net/mptcp/checksum_enabled = 1`n-net.mptcp.scheduler=default`nnot an assignment"
        $problems = $null
        $settings = [MptcpTools.Host.SysctlPersistence]::Read($root, [ref]$problems)
        $settings.Key | Should -Be @('net.mptcp.checksum_enabled', 'net.mptcp.scheduler')
        $settings.Line | Should -Be @(3, 4)
        $settings[1].IgnoreErrors | Should -BeTrue
        $settings[0].IgnoreErrors | Should -BeFalse
    }

    It 'reports a file it cannot read and goes on with the others' {
        New-Item -ItemType SymbolicLink -Path (Join-Path $root 'etc/sysctl.d/10-broken.conf') -Target (Join-Path $root 'nowhere') | Out-Null
        Write-Conf 'etc/sysctl.d/20-ok.conf' 'net.mptcp.enabled=1'
        $problems = $null
        $settings = [MptcpTools.Host.SysctlPersistence]::Read($root, [ref]$problems)
        @($problems).Count | Should -Be 1
        $problems[0] | Should -BeLike '/etc/sysctl.d/10-broken.conf*'
        $settings.Key | Should -Be 'net.mptcp.enabled'
    }
}

Describe 'MptcpKernelState from gathered facts' {
    BeforeAll {
        $sysctls618 = [Collections.Generic.Dictionary[string, string]]::new()
        @{
            'net.mptcp.enabled' = '1'; 'net.mptcp.path_manager' = 'kernel'; 'net.mptcp.pm_type' = '0'
            'net.mptcp.available_path_managers' = "kernel userspace"; 'net.mptcp.scheduler' = 'default'
            'net.mptcp.available_schedulers' = "default bpf_rr"; 'net.mptcp.checksum_enabled' = '0'
            'net.mptcp.add_addr_timeout' = '120'; 'net.mptcp.allow_join_initial_addr_port' = '1'
            'net.mptcp.stale_loss_cnt' = '4'; 'net.mptcp.close_timeout' = '60'; 'net.mptcp.blackhole_timeout' = '3600'
            'net.mptcp.syn_retrans_before_tcp_fallback' = '2'; 'net.mptcp.future_knob' = '7'
        }.GetEnumerator() | ForEach-Object { $sysctls618[$_.Key] = $_.Value }
        $noSettings = [MptcpTools.Kernel.PersistentSysctlSetting[]]@()
        function New-Setting($Key, $Value, $Line) { [MptcpTools.Kernel.PersistentSysctlSetting]::new($Key, $Value, '/etc/sysctl.conf', $Line, $false, $Line) }
    }

    It 'types every sysctl of a 6.18 kernel and keeps an unknown one by name' {
        $state = [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, $sysctls618,
            [MptcpTools.Kernel.MptcpLimit]::new(2, 0), 1, $noSettings, [string[]]@())
        $state.Present | Should -BeTrue
        $state.Enabled | Should -BeTrue
        $state.PathManager | Should -Be 'kernel'
        $state.AvailableSchedulers | Should -Be @('default', 'bpf_rr')
        $state.AddAddrTimeout | Should -Be ([timespan]::FromMinutes(2))
        $state.BlackholeTimeout | Should -Be ([timespan]::FromHours(1))
        $state.StaleLossCount | Should -Be 4
        $state.SynRetransBeforeTcpFallback | Should -Be 2
        $state.AllowJoinInitialAddrPort | Should -BeTrue
        $state.ChecksumEnabled | Should -BeFalse
        $state.UnknownSysctls | Should -Be @('net.mptcp.future_knob')
        $state.Sysctls['net.mptcp.future_knob'] | Should -Be '7'
        $state.BuildMode | Should -Be 'Unknown'
    }

    It 'derives the path manager from pm_type on a kernel that has only that' {
        $old = [Collections.Generic.Dictionary[string, string]]::new()
        $old['net.mptcp.enabled'] = '0'; $old['net.mptcp.pm_type'] = '1'
        $state = [MptcpTools.Kernel.MptcpKernelState]::Create('5.19.0', $true, $null, $old, $null, $null, $noSettings, [string[]]@('no netlink'))
        $state.PathManager | Should -Be 'userspace'
        $state.Enabled | Should -BeFalse
        $state.Scheduler | Should -BeNullOrEmpty
        $state.Notes | Should -Be @('no netlink')
    }

    It 'marks persistent keys the kernel does not have, such as the out-of-tree net.mptcp.mptcp_enabled' {
        $settings = [MptcpTools.Kernel.PersistentSysctlSetting[]]@((New-Setting 'net.mptcp.mptcp_enabled' '1' 1), (New-Setting 'net.mptcp.enabled' '1' 2), (New-Setting 'net.ipv4.ip_forward' '1' 3))
        $state = [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, $sysctls618, $null, $null, $settings, [string[]]@())
        $state.Persistent.Key | Should -Be @('net.mptcp.mptcp_enabled', 'net.mptcp.enabled')
        ($state.Persistent | Where-Object Key -eq 'net.mptcp.mptcp_enabled').ExistsInKernel | Should -BeFalse
        ($state.Persistent | Where-Object Key -eq 'net.mptcp.enabled').ExistsInKernel | Should -BeTrue
    }

    It 'says nothing about key existence on a kernel without MPTCP' {
        $none = [Collections.Generic.Dictionary[string, string]]::new()
        $state = [MptcpTools.Kernel.MptcpKernelState]::Create('4.19.0', $false, [ValueTuple[MptcpTools.Kernel.KernelBuildMode, string]]::new('NotBuilt', '/boot/config-4.19.0'),
            $none, $null, $null, [MptcpTools.Kernel.PersistentSysctlSetting[]]@((New-Setting 'net.mptcp.enabled' '1' 1)), [string[]]@())
        $state.Present | Should -BeFalse
        $state.Enabled | Should -BeNullOrEmpty
        $state.BuildMode | Should -Be 'NotBuilt'
        $state.KernelConfigSource | Should -Be '/boot/config-4.19.0'
        $state.Persistent[0].ExistsInKernel | Should -BeNullOrEmpty
    }
}

Describe 'Errors from the kernel become ErrorRecords with stable ids' {
    It 'maps errno <Errno> to <Id> / <Category>' -ForEach @(
        @{ Errno = 1; Id = 'PermissionDenied'; Category = 'PermissionDenied' }
        @{ Errno = 17; Id = 'AlreadyExists'; Category = 'ResourceExists' }
        @{ Errno = 2; Id = 'NotFound'; Category = 'ObjectNotFound' }
        @{ Errno = 22; Id = 'InvalidArgument'; Category = 'InvalidArgument' }
        @{ Errno = 95; Id = 'NotSupported'; Category = 'NotImplemented' }
        @{ Errno = 5; Id = 'KernelError'; Category = 'NotSpecified' }
    ) {
        $exception = [MptcpTools.Kernel.KernelException]::new('add MPTCP endpoint 198.51.100.9', $Errno, 'the kernel text')
        $record = [MptcpTools.Commands.KernelErrors]::ToErrorRecord($exception, 'the target')
        $record.FullyQualifiedErrorId | Should -Be $Id
        $record.CategoryInfo.Category | Should -Be $Category
        $record.TargetObject | Should -Be 'the target'
        $record.Exception.Message | Should -BeLike 'Could not add MPTCP endpoint 198.51.100.9: *the kernel says: the kernel text.*'
    }

    It 'names CAP_NET_ADMIN when the kernel says EPERM' {
        $record = [MptcpTools.Commands.KernelErrors]::ToErrorRecord([MptcpTools.Kernel.KernelException]::new('set the MPTCP limits', 1), $null)
        $record.ErrorDetails.Message | Should -Match 'CAP_NET_ADMIN'
        $record.Exception.Message | Should -Match '\(EPERM\)'
        # The exception's own message too, for scripts that log only $_.Exception.Message.
        $record.Exception.Message | Should -Match 'CAP_NET_ADMIN'
        $record.Exception.Errno | Should -Be 1
    }

    It 'reports a kernel without the mptcp_pm family as NotInstalled' {
        $inner = [MptcpTools.Kernel.KernelException]::new("find the generic netlink family 'mptcp_pm'", 2)
        $record = [MptcpTools.Commands.KernelErrors]::ToErrorRecord([MptcpTools.Kernel.MptcpPathManagerMissingException]::new('mptcp_pm', $inner), 'mptcp_pm')
        $record.FullyQualifiedErrorId | Should -Be 'MptcpPathManagerMissing'
        $record.CategoryInfo.Category | Should -Be 'NotInstalled'
        $record.ErrorDetails.RecommendedAction | Should -Match 'CONFIG_MPTCP'
    }

    It 'reports a malformed kernel reply as InvalidData' {
        $record = [MptcpTools.Commands.KernelErrors]::ToErrorRecord([FormatException]::new('short'), 'x')
        $record.FullyQualifiedErrorId | Should -Be 'MalformedKernelReply'
        $record.CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'a kernel without the family (asked under a name no kernel has) gives MptcpPathManagerMissing, not a stack trace' {
        $thrown = Get-ThrownException { [MptcpTools.Kernel.MptcpPathManager]::Open('no_such_family_x') }
        $thrown | Should -BeOfType ([MptcpTools.Kernel.MptcpPathManagerMissingException])
        $thrown.InnerException.ErrnoName | Should -BeIn @('ENOENT', 'EINVAL')
        $record = [MptcpTools.Commands.KernelErrors]::ToErrorRecord($thrown, 'mptcp_pm')
        $record.FullyQualifiedErrorId | Should -Be 'MptcpPathManagerMissing'
        $record.Exception.Message | Should -Match 'no_such_family_x'
    }
}

Describe 'The counter catalog: every counter described and grouped' {
    BeforeDiscovery {
        # The running kernel's counter names, read here with Get-Content, not with the module's parser.
        $runningCounters = @()
        $header = Get-Content /proc/net/netstat -ErrorAction Ignore | Where-Object { $_ -like 'MPTcpExt:*' } | Select-Object -First 1
        if ($header) { $runningCounters = @($header -split '\s+' | Select-Object -Skip 1 | Where-Object { $_ } | ForEach-Object { @{ Counter = $_ } }) }
        $noMptcp = -not (Test-Path /proc/sys/net/mptcp) -and $env:CI -ne 'true'
    }

    It 'reads the MPTcpExt counters of the running kernel' -Skip:$noMptcp {
        @(Get-Content /proc/net/netstat | Where-Object { $_ -like 'MPTcpExt:*' }).Count | Should -Be 2 -Because 'this kernel has MPTCP, so /proc/net/netstat has an MPTcpExt header and value line'
    }

    It 'describes and groups <Counter>, which the running kernel has' -ForEach $runningCounters {
        [MptcpTools.Kernel.MptcpCounterCatalog]::Describe($Counter) | Should -Not -BeNullOrEmpty -Because "the running kernel counts $Counter and the catalog has no description for it (see net/mptcp/mib.c, mib.h)"
        "$([MptcpTools.Kernel.MptcpCounterCatalog]::GroupOf($Counter))" | Should -Not -Be 'Unknown' -Because "the running kernel counts $Counter and the catalog puts it in no group"
    }

    It 'describes and groups every counter of the 6.18 fixture (76 counters)' {
        $counters = @(Get-MptcpCounter -Path (Join-Path $fixtures 'netstat-6.18-client.txt'))
        $counters.Count | Should -Be 76
        @($counters | Where-Object { -not $_.Description -or "$($_.Group)" -eq 'Unknown' }).Name | Should -BeNullOrEmpty
    }

    It 'puts <Counter> in <Group>' -ForEach @(
        @{ Counter = 'MPCapableSYNTX'; Group = 'Handshake' }
        @{ Counter = 'MPCapableSYNTXDrop'; Group = 'Fallback' }
        @{ Counter = 'Blackhole'; Group = 'Fallback' }
        @{ Counter = 'MPJoinSynBackupRx'; Group = 'Joins' }
        @{ Counter = 'MismatchPortSynRx'; Group = 'JoinFailures' }
        @{ Counter = 'PortAdd'; Group = 'AddressSignalling' }
        @{ Counter = 'RmAddrTxDrop'; Group = 'SignallingDropped' }
        @{ Counter = 'OFOQueueTail'; Group = 'DataTransfer' }
        @{ Counter = 'DSSNoMatchTCP'; Group = 'DataIntegrity' }
        @{ Counter = 'SubflowStale'; Group = 'SubflowHealth' }
    ) {
        "$([MptcpTools.Kernel.MptcpCounterCatalog]::GroupOf($Counter))" | Should -Be $Group
    }

    It 'gives a counter it does not know no description and the Unknown group, and still reports it' {
        $path = Join-Path $TestDrive 'netstat-newer'
        Set-Content $path "MPTcpExt: MPCapableSYNTX FutureCounter`nMPTcpExt: 3 7"
        $counters = @(Get-MptcpCounter -Path $path)
        $counters.Name | Should -Be @('MPCapableSYNTX', 'FutureCounter')
        $counters[1].Value | Should -Be 7
        $counters[1].Description | Should -BeNullOrEmpty
        "$($counters[1].Group)" | Should -Be 'Unknown'
        "$($counters[0].Group)" | Should -Be 'Handshake'
    }

    It 'Get-MptcpCounter -Group keeps only the counters of those groups' {
        $path = Join-Path $fixtures 'netstat-6.18-client.txt'
        $fallback = @(Get-MptcpCounter -Path $path -Group Fallback)
        $fallback.Count | Should -Be 15
        @($fallback | Where-Object { "$($_.Group)" -ne 'Fallback' }).Count | Should -Be 0
        $fallback.Name | Should -Contain 'MPCapableFallbackSYNACK'
        @(Get-MptcpCounter -Path $path -Group Joins, JoinFailures -NonZero).Name | Should -Be @('MPJoinSynAckRx', 'MPJoinSynTx')
    }
}

Describe 'Kernel features from gathered facts' {
    BeforeAll {
        function New-Sysctls([string[]] $Keys) {
            $d = [Collections.Generic.Dictionary[string, string]]::new()
            foreach ($k in $Keys) { $d["net.mptcp.$k"] = '1' }
            $d['net.mptcp.enabled'] = '1'
            $d
        }
        $all618 = 'path_manager', 'pm_type', 'scheduler', 'available_schedulers', 'blackhole_timeout', 'syn_retrans_before_tcp_fallback'
        $only68 = 'pm_type', 'scheduler', 'available_schedulers', 'add_addr_timeout'
        function New-Trial([string] $Flag, [uint32] $Offered, [int] $Errno = 0, [string] $Text, $Listed = $null) {
            [MptcpTools.Kernel.EndpointFlagTrial]@{ Flag = $Flag; Offered = $Offered; Accepted = ($Errno -eq 0); Errno = $Errno; KernelMessage = $Text; Listed = $Listed }
        }
        # What a 6.18 kernel with the flag mask answered (recorded from this project's lab kernel).
        $masking618 = [MptcpTools.Kernel.EndpointFlagProbe]@{
            KeepsUndefinedFlags = $false
            Trials = [MptcpTools.Kernel.EndpointFlagTrial[]]@(
                (New-Trial Subflow 2 -Listed 2), (New-Trial Fullmesh 10 -Listed 10),
                (New-Trial Implicit 16 -Errno 22 -Text "can't create IMPLICIT endpoint"), (New-Trial Laminar 32 -Listed 32))
        }
        # A kernel before the mask (6.8) stores any bit it is given, laminar and undefined bits alike.
        $blind68 = [MptcpTools.Kernel.EndpointFlagProbe]@{
            KeepsUndefinedFlags = $true
            Trials = [MptcpTools.Kernel.EndpointFlagTrial[]]@(
                (New-Trial Subflow 2 -Listed 2), (New-Trial Fullmesh 10 -Listed 10),
                (New-Trial Implicit 16 -Errno 22 -Text "can't create IMPLICIT endpoint"), (New-Trial Laminar 32 -Listed 32))
        }
        function New-State([string] $Release, [string[]] $Keys, $Counters, $Probe) {
            [string[]]$counterList = $null
            if ($null -ne $Counters) { $counterList = [string[]]$Counters }
            [MptcpTools.Kernel.MptcpKernelState]::Create($Release, $true, $null, (New-Sysctls $Keys), $null, $null,
                [MptcpTools.Kernel.PersistentSysctlSetting[]]@(), [string[]]@(), $counterList, $Probe)
        }
    }

    It 'finds every feature on a 6.18 kernel that masks unknown flags' {
        $f = (New-State '6.18.44-amd64' $all618 @('MPCapableSYNTX', 'MPCapableSYNTXDrop', 'Blackhole') $masking618).Features
        foreach ($name in 'PathManagerByName', 'SchedulerSelection', 'SynDropFallback', 'SynDropFallbackTunable', 'BlackholeDetection', 'FullmeshEndpoints', 'ImplicitEndpoints', 'LaminarEndpoints') {
            "$($f.$name.Support)" | Should -Be 'Supported' -Because $name
            $f.$name.Name | Should -Be $name
        }
        $f.LaminarEndpoints.Evidence | Should -Match 'kept the laminar flag'
        $f.ImplicitEndpoints.Evidence | Should -Match "can't create IMPLICIT endpoint"
        $f.SynDropFallback.IsSupported | Should -BeTrue
        $f.LaminarEndpoints.IsMissing | Should -BeFalse
        $f.Counters | Should -Be @('MPCapableSYNTX', 'MPCapableSYNTXDrop', 'Blackhole')
    }

    It 'finds neither the SYN-drop fallback nor laminar on a 6.8 kernel, which keeps any flag it is given' {
        $counters68 = @('MPCapableSYNRX', 'MPCapableSYNTX', 'MPCapableFallbackSYNACK', 'MPJoinSynTx')
        $f = (New-State '6.8.0-45-generic' $only68 $counters68 $blind68).Features
        "$($f.SynDropFallback.Support)" | Should -Be 'NotSupported'
        $f.SynDropFallback.Evidence | Should -Match 'MPCapableSYNTXDrop'
        $f.SynDropFallback.IsMissing | Should -BeTrue
        "$($f.BlackholeDetection.Support)" | Should -Be 'NotSupported'
        "$($f.PathManagerByName.Support)" | Should -Be 'NotSupported'
        "$($f.SchedulerSelection.Support)" | Should -Be 'Supported'
        "$($f.LaminarEndpoints.Support)" | Should -Be 'NotSupported'
        $f.LaminarEndpoints.Evidence | Should -Match 'proves nothing.*6\.8 predates it \(6\.18\)'
        "$($f.FullmeshEndpoints.Support)" | Should -Be 'Supported'
        $f.FullmeshEndpoints.Evidence | Should -Match 'since 5\.18'
    }

    It 'shows the fallback of a 6.12 kernel by its counter, though the sysctl to tune it is missing' {
        $f = (New-State '6.12.9' @('pm_type', 'blackhole_timeout') @('MPCapableSYNTXDrop', 'Blackhole') $masking618).Features
        "$($f.SynDropFallback.Support)" | Should -Be 'Supported'
        $f.SynDropFallback.Evidence | Should -Match 'counts MPCapableSYNTXDrop'
        "$($f.SynDropFallbackTunable.Support)" | Should -Be 'NotSupported'
    }

    It 'says a flag the kernel dropped from the endpoint is not supported, and one it refused too' {
        $dropped = [MptcpTools.Kernel.EndpointFlagProbe]@{
            KeepsUndefinedFlags = $false
            Trials = [MptcpTools.Kernel.EndpointFlagTrial[]]@((New-Trial Laminar 32 -Listed 0), (New-Trial Fullmesh 10 -Errno 22 -Text 'flags mustn''t have both signal and fullmesh'), (New-Trial Implicit 16 -Listed 16))
        }
        $f = (New-State '6.17.1' $all618 @() $dropped).Features
        "$($f.LaminarEndpoints.Support)" | Should -Be 'NotSupported'
        $f.LaminarEndpoints.Evidence | Should -Match 'dropped the flag'
        "$($f.FullmeshEndpoints.Support)" | Should -Be 'NotSupported'
        $f.FullmeshEndpoints.Evidence | Should -Match 'EINVAL: flags mustn''t'
        "$($f.ImplicitEndpoints.Support)" | Should -Be 'NotSupported'
    }

    It 'leaves endpoint flags Unknown, with the reason, when the probe could not run or was not asked for' {
        $denied = [MptcpTools.Kernel.EndpointFlagProbe]@{ Problem = 'needs CAP_SYS_ADMIN' }
        $f = (New-State '6.18.0' $all618 @() $denied).Features
        foreach ($name in 'FullmeshEndpoints', 'ImplicitEndpoints', 'LaminarEndpoints') {
            "$($f.$name.Support)" | Should -Be 'Unknown' -Because $name
            $f.$name.Evidence | Should -Be 'needs CAP_SYS_ADMIN'
            $f.$name.IsSupported | Should -BeFalse
            $f.$name.IsMissing | Should -BeFalse
        }
        $plain = [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, (New-Sysctls @('pm_type')), $null, $null, [MptcpTools.Kernel.PersistentSysctlSetting[]]@(), [string[]]@())
        "$($plain.Features.LaminarEndpoints.Support)" | Should -Be 'Unknown'
        "$($plain.Features.SynDropFallback.Support)" | Should -Be 'Unknown' -Because 'without the counters, a missing sysctl alone does not rule the fallback out'
    }

    It 'says a kernel without MPTCP has none of them' {
        $none = [MptcpTools.Kernel.MptcpKernelState]::Create('4.19.0', $false, $null, [Collections.Generic.Dictionary[string, string]]::new(), $null, $null,
            [MptcpTools.Kernel.PersistentSysctlSetting[]]@(), [string[]]@(), [string[]]@(), $null)
        @($none.Features.All() | Where-Object { "$($_.Support)" -ne 'NotSupported' }).Count | Should -Be 0
    }

    It 'names the counters of the kernel that the module cannot describe' {
        $f = (New-State '7.2.0' $all618 @('MPCapableSYNTX', 'FutureCounter') $masking618).Features
        $f.UndescribedCounters | Should -Be @('FutureCounter')
    }

    It 'reads the major and minor version of a kernel release' -ForEach @(
        @{ Release = '6.18.44-fc-v657'; Expected = '6.18' }
        @{ Release = '6.8.0-45-generic'; Expected = '6.8' }
        @{ Release = '5.10.0-28-amd64'; Expected = '5.10' }
    ) {
        "$([MptcpTools.Kernel.MptcpKernelFeatures]::ParseRelease($Release))" | Should -Be $Expected
    }
}

Describe 'ELF executables: dynamic, static, Go' {
    BeforeDiscovery {
        # Real programs of each kind: busybox-static, Debian's Go toolchain and the lab's goprobe (build.ps1 builds it
        # when Go is installed). Under CI=true they are prerequisites, so a missing one fails instead of skipping.
        $goProbe = Join-Path $PSScriptRoot '../output/tools/GoProbe/goprobe'
        $goTool = (Get-Command go -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
        $needReal = $env:CI -eq 'true'
    }
    BeforeAll {
        # A minimal ELF file built field by field from the ELF specification (the gABI), not by the code under test.
        function New-Elf {
            param([switch] $Is32, [switch] $BigEndian, [string] $Interpreter, [int] $Needed = 0, [byte[]] $GoBuildInfo,
                [switch] $GoInSegment)
            $ehsize = if ($Is32) { 52 } else { 64 }; $phent = if ($Is32) { 32 } else { 56 }; $shent = if ($Is32) { 40 } else { 64 }
            $segments = [Collections.Generic.List[object]]::new()
            $blobs = [IO.MemoryStream]::new()
            $phCount = ([int][bool]$Interpreter) + ([int]($Needed -gt 0)) + ([int][bool]($GoBuildInfo -and $GoInSegment))
            $dataStart = $ehsize + $phCount * $phent
            function Add-Blob([byte[]] $Bytes, [int] $Align = 1) {
                while (($dataStart + $blobs.Length) % $Align) { $blobs.WriteByte(0) }
                $at = $dataStart + $blobs.Length; $blobs.Write($Bytes, 0, $Bytes.Length); $at
            }
            function Get-Field([uint64] $Value, [int] $Size) {
                $b = [byte[]]::new($Size)
                for ($i = 0; $i -lt $Size; $i++) { $b[$i] = [byte](($Value -shr (8 * $i)) -band 0xff) }
                if ($BigEndian) { [array]::Reverse($b) }
                , $b
            }
            $word = if ($Is32) { 4 } else { 8 }
            if ($Interpreter) { $at = Add-Blob ([Text.Encoding]::ASCII.GetBytes($Interpreter + "`0")); $segments.Add(@(3, 4, $at, $Interpreter.Length + 1)) }
            if ($Needed -gt 0) {
                $dyn = [IO.MemoryStream]::new()
                for ($i = 0; $i -lt $Needed; $i++) { $dyn.Write((Get-Field 1 $word), 0, $word); $dyn.Write((Get-Field 0 $word), 0, $word) }
                $dyn.Write((Get-Field 0 $word), 0, $word); $dyn.Write((Get-Field 0 $word), 0, $word)
                $at = Add-Blob $dyn.ToArray() 8; $segments.Add(@(2, 6, $at, $dyn.Length))
            }
            $sections = $null
            if ($GoBuildInfo) {
                $at = Add-Blob $GoBuildInfo 16
                if ($GoInSegment) { $segments.Add(@(1, 6, $at, $GoBuildInfo.Length)) }
                else {
                    $names = [Text.Encoding]::ASCII.GetBytes("`0.shstrtab`0.go.buildinfo`0")
                    $namesAt = Add-Blob $names
                    $sections = @(@(0, 0, 0), @(1, $namesAt, $names.Length), @(11, $at, $GoBuildInfo.Length))
                }
            }
            $shoff = if ($sections) { $dataStart + $blobs.Length + ((8 - ($dataStart + $blobs.Length) % 8) % 8) } else { 0 }
            $out = [IO.MemoryStream]::new()
            $ident = [byte[]](0x7f, 0x45, 0x4c, 0x46, $(if ($Is32) { 1 } else { 2 }), $(if ($BigEndian) { 2 } else { 1 }), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            $out.Write($ident, 0, 16)
            foreach ($f in @(@(2, 2), @(62, 2), @(1, 4), @(0, $word), @($ehsize, $word), @($shoff, $word), @(0, 4), @($ehsize, 2), @($phent, 2), @($phCount, 2), @($shent, 2), @($(if ($sections) { 3 } else { 0 }), 2), @($(if ($sections) { 1 } else { 0 }), 2))) {
                $out.Write((Get-Field $f[0] $f[1]), 0, $f[1])
            }
            foreach ($s in $segments) {
                # p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align (32-bit: flags after memsz)
                $fields = if ($Is32) { @(@($s[0], 4), @($s[2], 4), @(0, 4), @(0, 4), @($s[3], 4), @($s[3], 4), @($s[1], 4), @(1, 4)) }
                else { @(@($s[0], 4), @($s[1], 4), @($s[2], 8), @(0, 8), @(0, 8), @($s[3], 8), @($s[3], 8), @(1, 8)) }
                foreach ($f in $fields) { $out.Write((Get-Field $f[0] $f[1]), 0, $f[1]) }
            }
            $bytes = $blobs.ToArray(); $out.Write($bytes, 0, $bytes.Length)
            if ($sections) {
                while ($out.Length -lt $shoff) { $out.WriteByte(0) }
                foreach ($s in $sections) {
                    # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
                    $fields = @(@($s[0], 4), @(1, 4), @(0, $word), @(0, $word), @($s[1], $word), @($s[2], $word), @(0, 4), @(0, 4), @(1, $word), @(0, $word))
                    foreach ($f in $fields) { $out.Write((Get-Field $f[0] $f[1]), 0, $f[1]) }
                }
            }
            , $out.ToArray()
        }
        # Go's build information header (debug/buildinfo): magic, pointer size, flags (2: version inline), padding to 32, then varint-prefixed strings.
        function New-GoBuildInfo([string] $Version, [int] $Flags = 2) {
            $b = [Collections.Generic.List[byte]]::new()
            $b.Add(0xff); $b.AddRange([byte[]][Text.Encoding]::ASCII.GetBytes(' Go buildinf:')); $b.Add(8); $b.Add($Flags)
            while ($b.Count -lt 32) { $b.Add(0) }
            if ($Flags -band 2) { $b.Add($Version.Length); $b.AddRange([byte[]][Text.Encoding]::ASCII.GetBytes($Version)); $b.Add(0) }
            , $b.ToArray()
        }
        function Read-Elf([string] $Path) { $problem = $null; [MptcpTools.Kernel.ElfExecutable]::TryRead($Path, [ref]$problem); $script:lastProblem = $problem }
        function Get-ThrownType([scriptblock] $Call) {
            try { & $Call | Out-Null; 'none' }
            catch { $e = $_.Exception; while ($e -is [System.Management.Automation.MethodInvocationException] -and $e.InnerException) { $e = $e.InnerException }; $e.GetType().Name }
        }
        $goProbe = Join-Path $PSScriptRoot '../output/tools/GoProbe/goprobe'
        $goTool = (Get-Command go -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
        $needReal = $env:CI -eq 'true'
    }

    It 'reads a dynamically linked program as readelf does: /bin/ls' {
        $elf = Read-Elf /bin/ls
        $interp = [regex]::Match(((& readelf -lW /bin/ls) -join "`n"), 'Requesting program interpreter: ([^\]]+)\]').Groups[1].Value
        $elf.Interpreter | Should -Be $interp
        $elf.NeededLibraries | Should -Be @(& readelf -dW /bin/ls | Select-String '\(NEEDED\)').Count
        $elf.NeededLibraries | Should -BeGreaterThan 0
        $elf.IsStaticallyLinked | Should -BeFalse
        $elf.IsGoBinary | Should -BeFalse
        $elf.Is64Bit | Should -Be ((& readelf -hW /bin/ls | Select-String 'Class:') -match 'ELF64')
    }

    It 'reads a statically linked program as readelf does: busybox from busybox-static' -Skip:(-not (Test-Path /bin/busybox) -and -not $needReal) {
        $elf = Read-Elf /bin/busybox
        @(& readelf -lW /bin/busybox | Select-String 'INTERP').Count | Should -Be 0
        @(& readelf -dW /bin/busybox | Select-String '\(NEEDED\)').Count | Should -Be 0
        $elf.Interpreter | Should -BeNullOrEmpty
        $elf.IsStaticallyLinked | Should -BeTrue
        $elf.IsGoBinary | Should -BeFalse
    }

    It 'reads Go binaries as go version does: the toolchain, and the lab''s goprobe' -Skip:(-not $goTool -and -not $needReal) {
        foreach ($path in @($goTool, $goProbe)) {
            Test-Path $path | Should -BeTrue -Because "$path is built by build.ps1 -Task Test when Go is installed"
            $real = (Get-Item $path).ResolvedTarget ?? $path
            $elf = Read-Elf $real
            $elf.IsGoBinary | Should -BeTrue -Because $path
            $elf.GoVersion | Should -Be ((& go version $real) -replace '^.*: ', '') -Because $path
            $elf.IsStaticallyLinked | Should -Be (@(& readelf -lW $real | Select-String 'INTERP').Count -eq 0) -Because $path
        }
        (Read-Elf $goProbe).IsStaticallyLinked | Should -BeTrue -Because 'goprobe is built with CGO_ENABLED=0'
    }

    It 'reads the Go version a real Go binary carries, also when its section headers are gone' -Skip:(-not (Test-Path $goProbe) -and -not $needReal) {
        $bytes = [IO.File]::ReadAllBytes($goProbe)
        $version = [Text.Encoding]::ASCII.GetBytes((Read-Elf $goProbe).GoVersion)
        # Rewrite the inline version (same length) and see it read back; then zero e_shoff and e_shnum.
        $text = [Text.Encoding]::Latin1.GetString($bytes)
        $index = $text.IndexOf("$([char]0xff) Go buildinf:")
        $index | Should -BeGreaterThan 0
        $versionAt = $text.IndexOf([Text.Encoding]::ASCII.GetString($version), $index)
        $fake = [Text.Encoding]::ASCII.GetBytes('go1.24.1'.PadRight($version.Length, '9').Substring(0, $version.Length))
        [Array]::Copy($fake, 0, $bytes, $versionAt, $fake.Length)
        [MptcpTools.Kernel.ElfExecutable]::Parse($bytes).GoVersion | Should -Be ([Text.Encoding]::ASCII.GetString($fake))
        [Array]::Clear($bytes, 40, 8); [Array]::Clear($bytes, 60, 2)
        $stripped = [MptcpTools.Kernel.ElfExecutable]::Parse($bytes)
        $stripped.IsGoBinary | Should -BeTrue
        $stripped.GoVersion | Should -Be ([Text.Encoding]::ASCII.GetString($fake))
    }

    It 'reads crafted ELF files of both classes and byte orders' {
        $a = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -Interpreter '/lib/ld-test.so.1' -Needed 2))
        $a.Interpreter | Should -Be '/lib/ld-test.so.1'; $a.NeededLibraries | Should -Be 2; $a.Is64Bit | Should -BeTrue; $a.IsStaticallyLinked | Should -BeFalse
        $b = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -Is32 -BigEndian -Needed 1))
        $b.Interpreter | Should -BeNullOrEmpty; $b.NeededLibraries | Should -Be 1; $b.Is64Bit | Should -BeFalse; $b.IsStaticallyLinked | Should -BeFalse
        $c = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -Is32))
        $c.IsStaticallyLinked | Should -BeTrue
        $d = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -BigEndian -Interpreter '/x'))
        $d.Interpreter | Should -Be '/x'
    }

    It 'finds Go''s build information in its section, or in the first writable segment, and its version when inline' {
        $inSection = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -GoBuildInfo (New-GoBuildInfo 'go1.24.1')))
        $inSection.IsGoBinary | Should -BeTrue; $inSection.GoVersion | Should -Be 'go1.24.1'; $inSection.IsStaticallyLinked | Should -BeTrue
        $inSegment = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -GoBuildInfo (New-GoBuildInfo 'go1.22.4') -GoInSegment -Interpreter '/lib/ld.so'))
        $inSegment.IsGoBinary | Should -BeTrue; $inSegment.GoVersion | Should -Be 'go1.22.4'; $inSegment.IsStaticallyLinked | Should -BeFalse
        $old = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -GoBuildInfo (New-GoBuildInfo '' -Flags 0)))
        $old.IsGoBinary | Should -BeTrue; $old.GoVersion | Should -BeNullOrEmpty
        $notGo = [MptcpTools.Kernel.ElfExecutable]::Parse((New-Elf -GoBuildInfo ([byte[]]::new(48)) -GoInSegment))
        $notGo.IsGoBinary | Should -BeFalse
    }

    It 'never fails but with FormatException on any truncation of a real and a crafted ELF' {
        $real = [IO.File]::ReadAllBytes('/bin/ls')
        $crafted = New-Elf -Interpreter '/lib/ld-test.so.1' -Needed 3 -GoBuildInfo (New-GoBuildInfo 'go1.21.0')
        $outcomes = @{}
        foreach ($bytes in @($real, $crafted)) {
            $lengths = @(0..([Math]::Min(600, $bytes.Length - 1))) + @(1024, 4096, 65536, 131072, ($bytes.Length - 1)) | Where-Object { $_ -lt $bytes.Length } | Sort-Object -Unique
            foreach ($n in $lengths) {
                $cut = [byte[]]::new($n); [Array]::Copy($bytes, $cut, $n)
                $outcomes[(Get-ThrownType { [MptcpTools.Kernel.ElfExecutable]::Parse($cut) })]++
            }
        }
        @($outcomes.Keys | Where-Object { $_ -notin 'none', 'FormatException' }) | Should -BeNullOrEmpty
        $outcomes['FormatException'] | Should -BeGreaterThan 100
    }

    It 'never fails but with FormatException on corrupted headers (2000 seeded mutations)' {
        $seed = [Random]::new(12)
        $bases = @((New-Elf -Interpreter '/lib/ld-test.so.1' -Needed 2 -GoBuildInfo (New-GoBuildInfo 'go1.23.0')), (New-Elf -Is32 -BigEndian -Needed 1), ([IO.File]::ReadAllBytes('/bin/ls')[0..8191]))
        $types = @{}
        for ($i = 0; $i -lt 2000; $i++) {
            $bytes = [byte[]]$bases[$i % 3].Clone()
            for ($k = 0; $k -lt 1 + $seed.Next(4); $k++) { $bytes[$seed.Next([Math]::Min(256, $bytes.Length))] = [byte]$seed.Next(256) }
            $types[(Get-ThrownType { [MptcpTools.Kernel.ElfExecutable]::Parse($bytes) })]++
        }
        @($types.Keys | Where-Object { $_ -notin 'none', 'FormatException' }) | Should -BeNullOrEmpty
    }

    It 'reads a bounded amount of a file whose headers claim huge tables, however large the file' {
        # A sparse file of 1 TiB whose one program header claims a dynamic section of 1 TiB: at most 1 MiB of it is read.
        $bytes = New-Elf -Needed 1
        [Array]::Copy([BitConverter]::GetBytes([uint64]1TB), 0, $bytes, 64 + 32, 8)
        $path = Join-Path $TestDrive 'huge'
        [IO.File]::WriteAllBytes($path, $bytes)
        & truncate -s 1T $path
        function Get-ReadBytes { [long]((Get-Content /proc/self/io | Where-Object { $_ -like 'rchar:*' }) -replace '\D', '') }
        $before = Get-ReadBytes
        $elf = Read-Elf $path
        $read = (Get-ReadBytes) - $before
        $elf.NeededLibraries | Should -Be 1
        $read | Should -BeLessThan 4MB
        # Tables bigger than 1 MiB are refused before they are read.
        $table = [byte[]]$bytes.Clone(); $table[54] = 0xff; $table[55] = 0xff; $table[56] = 0xff; $table[57] = 0xff
        $e = Get-ThrownException { [MptcpTools.Kernel.ElfExecutable]::Parse($table) }
        $e | Should -BeOfType ([FormatException])
        $e.Message | Should -BeLike '*program header table of 4294836225 bytes*'
    }

    It 'opens only regular files: a FIFO, a device and a directory give a reason, at once' {
        $fifo = Join-Path $TestDrive 'fifo'
        & mkfifo $fifo
        $watch = [Diagnostics.Stopwatch]::StartNew()
        foreach ($path in $fifo, '/dev/zero', $TestDrive) {
            Read-Elf $path | Should -BeNullOrEmpty
            $script:lastProblem | Should -Match 'not a regular file'
        }
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
        Set-Content (Join-Path $TestDrive 'text') 'hello'
        Read-Elf (Join-Path $TestDrive 'text') | Should -BeNullOrEmpty
        $script:lastProblem | Should -Match 'not a well-formed ELF file: no ELF magic'
        (Read-Elf /proc/self/exe).Interpreter | Should -Not -BeNullOrEmpty -Because 'this pwsh (dotnet) is dynamically linked'
    }
}

Describe 'The systemd service of a process, from /proc/PID/cgroup' {
    It 'finds <Expected> in <Case>' -ForEach @(
        @{ Case = 'a system service (cgroup v2)'; Text = "0::/system.slice/nginx.service`n"; Expected = 'nginx.service'; User = $false }
        @{ Case = 'a template instance'; Text = "0::/system.slice/system-getty.slice/getty@tty1.service"; Expected = 'getty@tty1.service'; User = $false }
        @{ Case = 'a user service'; Text = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/syncthing.service"; Expected = 'syncthing.service'; User = $true }
        @{ Case = 'the user manager itself'; Text = "0::/user.slice/user-1000.slice/user@1000.service/init.scope"; Expected = 'user@1000.service'; User = $false }
        @{ Case = 'a hybrid hierarchy (v1 with name=systemd)'; Text = "12:pids:/system.slice/ssh.service`n1:name=systemd:/system.slice/ssh.service`n0::/system.slice/ssh.service"; Expected = 'ssh.service'; User = $false }
        @{ Case = 'a legacy v1 hierarchy'; Text = "11:memory:/system.slice/cron.service`n1:name=systemd:/system.slice/cron.service"; Expected = 'cron.service'; User = $false }
        @{ Case = 'a login session'; Text = "0::/user.slice/user-1000.slice/session-3.scope"; Expected = $null; User = $false }
        @{ Case = 'a container'; Text = "0::/system.slice/docker-4f1c0a.scope"; Expected = $null; User = $false }
        @{ Case = 'a cgroup namespace (the root)'; Text = "0::/"; Expected = $null; User = $false }
        @{ Case = 'an empty file'; Text = ''; Expected = $null; User = $false }
        @{ Case = 'garbage'; Text = "no colons here`n::`n0::.service"; Expected = $null; User = $false }
    ) {
        $found = [MptcpTools.Kernel.ProcessFacts]::ServiceUnitOf($Text)
        $found.Item1 | Should -Be $Expected
        $found.Item2 | Should -Be $User
    }
}
