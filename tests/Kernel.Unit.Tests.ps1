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
