# The daemon, NetworkManager and repair checks against the real system: booted Debian 12 (systemd 252,
# NetworkManager 1.42, mptcpd 0.12) and Debian 13 (systemd 257, NetworkManager 1.52, mptcpd 0.13)
# containers, with systemd as their PID 1, their real system bus, mptcp.service and NetworkManager. The
# module runs inside each container's namespaces (tests/Lab/ContainerLab.psm1), as an administrator of that
# host would run it; what it reports is compared with systemctl, journalctl, nmcli and ip run in the same
# container. One container runs at a time (mptcpd's LimitNPROC=1 allows two at most).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/ContainerLab.psm1') -Force
    $containerSkip = [bool](Get-ContainerSkipReason)
    $releases = @(Get-ContainerReleases | ForEach-Object { @{ Release = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/ContainerLab.psm1') -Force
    function Get-UnitProperty($Container, [string] $Unit, [string] $Property) {
        "$(Invoke-InContainer $Container systemctl 'show', '-p', $Property, '--value', $Unit)".Trim()
    }
    function Wait-UnitState($Container, [string] $Unit, [string[]] $State) {
        Wait-InContainer $Container systemctl 'show', '-p', 'ActiveState', '--value', $Unit -Until { param($o) "$o".Trim() -in $State } | Out-Null
    }
    function Set-MptcpdConf($Container, [string] $Text) {
        Set-Content -LiteralPath (Join-Path $Container.Root 'etc/mptcpd/mptcpd.conf') -Value $Text
    }
    $goodConf = "[core]`nlog=stderr`nplugin-dir=/usr/lib/x86_64-linux-gnu/mptcpd`npath-manager=addr_adv"
}

Describe 'mptcp.service in a booted <Release> container, read over its real system bus' -Tag Lab, Container -Skip:$containerSkip -ForEach $releases {
    BeforeAll { $c = Start-MptcpContainer -Release $Release }
    AfterAll { Remove-MptcpContainer $c }

    It 'reads the running unit from systemd: states, unit file state, main PID, and the journal lines it wrote' {
        $r = Invoke-ContainerCmdlet $c { Get-MptcpDaemonStatus }
        $r.Errors | Should -BeNullOrEmpty
        $s = $r.Output[0]
        $s.Source | Should -Be 'systemd'
        $s.UnitName | Should -Be 'mptcp.service'
        $s.Running | Should -BeTrue
        $s.LoadState | Should -Be (Get-UnitProperty $c mptcp.service LoadState)
        $s.ActiveState | Should -Be 'active'
        $s.SubState | Should -Be 'running'
        $s.UnitFileState | Should -Be (Get-UnitProperty $c mptcp.service UnitFileState)
        $s.MainPid | Should -Be ([int](Get-UnitProperty $c mptcp.service MainPID))
        $s.ProcessIds | Should -Contain $s.MainPid
        $s.Version | Should -Be "$(Invoke-InContainer $c dpkg-query '-W', '-f=${Version}', 'mptcpd')"
        $journal = @(Invoke-InContainer $c journalctl '-u', 'mptcp.service', '-o', 'json', '-n', '10', '--no-pager', '-q' | ForEach-Object { ($_ | ConvertFrom-Json).MESSAGE })
        @($s.Journal.Message) | Should -Be $journal
        $s.Journal.Message | Should -Contain 'MPTCP address advertiser path manager initialized.'
    }

    It 'a plugin-dir that does not exist: the unit starts, exits 1 a second later, and the diagnosis says DaemonNotRunning with the exit status and the journal lines' {
        Set-MptcpdConf $c "[core]`nlog=stderr`nplugin-dir=/nonexistent`npath-manager=addr_adv"
        Invoke-InContainer $c systemctl 'restart', 'mptcp.service' | Out-Null   # Type=simple: the start itself succeeds
        Wait-UnitState $c mptcp.service 'failed'
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis -IncludePassed }
        $r.Errors | Should -BeNullOrEmpty
        $f = @($r.Output | Where-Object Id -eq 'DaemonNotRunning')
        $f.Count | Should -Be 1
        $f[0].Severity | Should -Be 'Warning'
        $d = $f[0].Evidence[0]
        $d.LastExitStatus | Should -Be 1
        $d.LastExitStatus | Should -Be ([int](Get-UnitProperty $c mptcp.service ExecMainStatus))
        $d.Result | Should -Be 'exit-code'
        $d.ActiveState | Should -Be 'failed'
        $d.Journal.Message | Should -Contain 'Unable to load path manager plugins.'
        $f[0].Detail | Should -Match 'Unable to load path manager plugins'
        $f[0].Repair.Kind | Should -Be 'StartUnit'
        $plugin = @($r.Output | Where-Object Id -eq 'DaemonPluginMissing')
        $plugin[0].Evidence[0].Line | Should -Be 3
    }

    It 'a configuration mptcpd tolerates (an unknown path-manager plug-in, unknown addr-flags) is named with its line while the unit runs' {
        Set-MptcpdConf $c "[core]`nlog=stderr`nplugin-dir=/usr/lib/x86_64-linux-gnu/mptcpd`npath-manager=doesnotexist`naddr-flags=bogus"
        Invoke-InContainer $c systemctl 'restart', 'mptcp.service' | Out-Null
        Wait-UnitState $c mptcp.service 'active'
        Start-Sleep -Seconds 2   # a daemon that dies, dies within a second
        $r = Invoke-ContainerCmdlet $c { Get-MptcpDaemonStatus }
        $s = $r.Output[0]
        $s.Running | Should -BeTrue
        $s.ActiveState | Should -Be (Get-UnitProperty $c mptcp.service ActiveState)
        ($s.Problems | Where-Object Kind -eq 'PluginMissing').Line | Should -Be 4
        ($s.Problems | Where-Object Kind -eq 'InvalidValue').Line | Should -Be 5
        ($s.Journal.Message -join "`n") | Should -Match 'bogus'
        $d = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis }
        ($d.Output | Where-Object Id -eq 'DaemonPluginMissing').Summary | Should -Match 'mptcpd.conf:4:'
        ($d.Output | Where-Object Id -eq 'DaemonConfigInvalid').Summary | Should -Match 'mptcpd.conf:5:'
    }

    It 'finds the unit under the name mptcpd.service where that is its name' {
        Set-MptcpdConf $c $goodConf
        Invoke-InContainer $c systemctl 'disable', '--now', 'mptcp.service' | Out-Null
        Invoke-InContainer $c cp '/lib/systemd/system/mptcp.service', '/etc/systemd/system/mptcpd.service' | Out-Null
        Invoke-InContainer $c systemctl 'mask', 'mptcp.service' | Out-Null
        Invoke-InContainer $c systemctl 'enable', '--now', 'mptcpd.service' | Out-Null
        Wait-UnitState $c mptcpd.service 'active'
        $s = (Invoke-ContainerCmdlet $c { Get-MptcpDaemonStatus }).Output[0]
        $s.UnitName | Should -Be 'mptcpd.service'
        $s.Running | Should -BeTrue
        $s.UnitFileState | Should -Be 'enabled'
        $s.MainPid | Should -Be ([int](Get-UnitProperty $c mptcpd.service MainPID))
    }
}

Describe 'Repair-MptcpConfiguration starts and enables mptcp.service over D-Bus in a booted <Release> container, and a reboot keeps it' -Tag Lab, Container -Skip:$containerSkip -ForEach $releases {
    BeforeAll {
        $c = Start-MptcpContainer -Release $Release
        Invoke-InContainer $c systemctl 'disable', 'mptcp.service' | Out-Null
        Invoke-InContainer $c systemctl 'kill', '-s', 'KILL', 'mptcp.service' | Out-Null
        Wait-UnitState $c mptcp.service 'failed'
    }
    AfterAll { Remove-MptcpContainer $c }

    It 'repairs the killed, disabled unit: started and enabled, with before and after' {
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis | Where-Object Id -eq DaemonNotRunning | Repair-MptcpConfiguration -Confirm:$false }
        $r.Errors | Should -BeNullOrEmpty
        $start = $r.Output | Where-Object Action -eq 'Enable and start unit'
        $start.Before | Should -Be 'failed/failed, disabled'
        $start.After | Should -Be 'active/running, enabled'
        $start.Undo | Should -Be 'systemctl disable --now mptcp.service'
        Get-UnitProperty $c mptcp.service ActiveState | Should -Be 'active'
        "$(Invoke-InContainer $c systemctl 'is-enabled', 'mptcp.service' -AllowFailure)".Trim() | Should -Be 'enabled'
    }

    It 'is still enabled and running after the container reboots' {
        Restart-MptcpContainer $c
        Wait-UnitState $c mptcp.service 'active'
        "$(Invoke-InContainer $c systemctl 'is-enabled', 'mptcp.service' -AllowFailure)".Trim() | Should -Be 'enabled'
        $s = (Invoke-ContainerCmdlet $c { Get-MptcpDaemonStatus }).Output[0]
        $s.Running | Should -BeTrue
        $s.UnitFileState | Should -Be 'enabled'
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis -IncludePassed }
        ($r.Output | Where-Object Id -eq 'DaemonNotRunning').Severity | Should -Be 'Passed'
    }
}

Describe 'NetworkManager in a booted <Release> container: mptcp-flags, its endpoints, and repairs through it' -Tag Lab, Container -Skip:$containerSkip -ForEach $releases {
    BeforeAll {
        # A global default in NetworkManager's configuration (the fallback's value, so behaviour stays as is).
        $c = Start-MptcpContainer -Release $Release -Prepare {
            param($root)
            New-Item -ItemType Directory -Path "$root/etc/NetworkManager/conf.d" -Force | Out-Null
            Set-Content "$root/etc/NetworkManager/conf.d/50-mptcp.conf" "[connection]`nconnection.mptcp-flags=0x22"
        }
        # NetworkManager alone makes endpoints here (mptcpd would add its own, without flags).
        Invoke-InContainer $c systemctl 'disable', '--now', 'mptcp.service' | Out-Null
        function Add-Veth([string] $Name, [string] $Device, [string[]] $More) {
            Invoke-InContainer $c nmcli (@('connection', 'add', 'type', 'veth', 'con-name', $Name, 'ifname', $Device, 'veth.peer', "$($Device)p") + $More) | Out-Null
        }
        # up0 has the default routes' device, and announces only (signal); up1 has no default route; up2 disables MPTCP.
        Add-Veth up0 nm0 'ipv4.method', 'manual', 'ipv4.addresses', '192.0.2.50/24', 'ipv4.gateway', '192.0.2.1', 'ipv6.method', 'manual', 'ipv6.addresses', '2001:db8:1::50/64', 'connection.mptcp-flags', 'signal'
        Add-Veth up1 nm1 'ipv4.method', 'manual', 'ipv4.addresses', '198.51.100.50/24', 'ipv6.method', 'disabled'
        Add-Veth up2 nm2 'ipv4.method', 'manual', 'ipv4.addresses', '203.0.113.50/24', 'ipv6.method', 'disabled', 'connection.mptcp-flags', 'disabled'
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '192\.0\.2\.50 id \d+ signal' } | Out-Null
        Wait-InContainer $c ip '-4', 'addr', 'show', 'dev', 'nm2' -Until { param($o) "$o" -match '203\.0\.113\.50' } | Out-Null
        # Traffic from up1's address leaves through nm1 (a source route), so only ownership keeps a hand-made endpoint off it.
        Invoke-InContainer $c ip 'rule', 'add', 'from', '198.51.100.50', 'table', '100' | Out-Null
        Invoke-InContainer $c ip 'route', 'add', 'default', 'via', '198.51.100.1', 'dev', 'nm1', 'onlink', 'table', '100' | Out-Null
        $uuid = @{}
        foreach ($n in 'up0', 'up1', 'up2') { $uuid[$n] = "$(Invoke-InContainer $c nmcli '-g', 'connection.uuid', 'connection', 'show', 'id', $n)".Trim() }
        $settings = Invoke-ContainerCmdlet $c { Get-MptcpNetworkManagerSetting }
    }
    AfterAll { Remove-MptcpContainer $c }

    It 'reads every connection''s mptcp-flags, and the global default, as NetworkManager has them' {
        $settings.Errors | Should -BeNullOrEmpty
        $all = @(Invoke-InContainer $c nmcli '-g', 'UUID', 'connection', 'show' | Where-Object { $_ })
        @($settings.Output.Uuid | Sort-Object) | Should -Be @($all | Sort-Object)
        $settings.Output[0].NetworkManagerVersion | Should -Be "$(Invoke-InContainer $c nmcli '-g', 'VERSION', 'general')".Trim()
        foreach ($s in $settings.Output) { $s.GlobalDefaultFlags | Should -Be 0x22; $s.GlobalDefaultSource | Should -Match '50-mptcp\.conf:2$' }
        $byName = @{}; foreach ($s in $settings.Output) { $byName[$s.Connection] = $s }
        $byName['up0'].RawFlags | Should -Be 0x10
        $byName['up1'].RawFlags | Should -Be 0
        $byName['up2'].RawFlags | Should -Be 1
        $byName['up2'].Meaning | Should -Be 'disabled'
        $byName['up1'].Devices | Should -Be 'nm1'
        $byName['up1'].ManagesEndpoints | Should -BeTrue
        $byName['up2'].ManagesEndpoints | Should -BeFalse
    }

    It 'says which endpoints NetworkManager made for which device, and why an address got none' {
        $byName = @{}; foreach ($s in $settings.Output) { $byName[$s.Connection] = $s }
        $ip = "$(Invoke-InContainer $c ip 'mptcp', 'endpoint')"
        $e = $byName['up0'].Endpoints | Where-Object { "$($_.Address)" -eq '192.0.2.50' }
        $e.ByNetworkManager | Should -BeTrue
        $ip | Should -Match "192\.0\.2\.50 id $($e.EndpointId) signal dev nm0"
        ($byName['up0'].Endpoints | Where-Object { "$($_.Address)" -eq '2001:db8:1::50' }).Reason | Should -Match 'no IPv6 default route.*also-without-default-route'
        $ip | Should -Not -Match '2001:db8:1::50'
        ($byName['up1'].Endpoints | Where-Object { "$($_.Address)" -eq '198.51.100.50' }).Reason | Should -Match 'nm1 has no IPv4 default route'
        ($byName['up2'].Endpoints | Where-Object { "$($_.Address)" -eq '203.0.113.50' }).Reason | Should -Be 'mptcp-flags=disabled.'
        $ip | Should -Not -Match '198\.51\.100\.50|203\.0\.113\.50'
    }

    It 'the diagnosis says NetworkManager manages the endpoints, and proposes its mptcp-flags, never a hand-made endpoint' {
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis }
        $r.Errors | Should -BeNullOrEmpty
        ($r.Output | Where-Object Id -eq 'NetworkManagerManagesEndpoints').Summary | Should -Match 'nm0'
        $none = @($r.Output | Where-Object Id -eq 'NoSubflowEndpoints')
        $none.Count | Should -Be 1
        @($none[0].Repair | Where-Object Kind -eq 'AddEndpoint') | Should -BeNullOrEmpty
        $nm = @($none[0].Repair | Where-Object Kind -eq 'SetNetworkManagerMptcpFlags')
        $nm.Count | Should -Be 1
        $nm[0].Uuid | Should -Be $uuid['up1']
        $nm[0].Flags | Should -Be 0x2a   # enabled, also-without-default-route, subflow
        $none[0].Remediation | Should -Match "nmcli connection modify $($uuid['up1']) connection.mptcp-flags enabled,also-without-default-route,subflow"
        $disabled = @($r.Output | Where-Object Id -eq 'NetworkManagerMptcpDisabled')
        $disabled[0].Repair[0].Uuid | Should -Be $uuid['up2']
    }

    It 'NetworkManagerSkipsAddress: up0''s IPv6 address (no IPv6 default route) and up1''s IPv4 one, each a Warning with NetworkManager''s fix' {
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis }
        $hits = @($r.Output | Where-Object Id -eq 'NetworkManagerSkipsAddress')
        @($hits.Summary | Sort-Object) | Should -Be @(
            "NetworkManager gives 198.51.100.50 on nm1 ('up1') no MPTCP endpoint: there is no IPv4 default route for it, and the connection's mptcp-flags lack also-without-default-route."
            "NetworkManager gives 2001:db8:1::50 on nm0 ('up0') no MPTCP endpoint: there is no IPv6 default route for it, and the connection's mptcp-flags lack also-without-default-route.")
        $hits | ForEach-Object { $_.Severity | Should -Be 'Warning' }
        ($hits | Where-Object Summary -Match 'nm0').Remediation | Should -Match "nmcli connection modify $($uuid['up0']) connection.mptcp-flags enabled,subflow,also-without-default-route"
    }

    It 'Repair-MptcpConfiguration -Force sets the flags over D-Bus, NetworkManager makes the endpoint, and a reboot keeps both' {
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis | Where-Object Id -eq NoSubflowEndpoints | Repair-MptcpConfiguration -Force -Confirm:$false }
        $r.Errors | Should -BeNullOrEmpty
        $set = $r.Output | Where-Object Action -eq 'Set NetworkManager mptcp-flags'
        $set.Applied | Should -BeTrue
        $set.Before | Should -Be '0'
        $set.After | Should -Be 'enabled,also-without-default-route,subflow'
        "$(Invoke-InContainer $c nmcli '-g', 'connection.mptcp-flags', 'connection', 'show', 'id', 'up1')".Trim() | Should -Be '0x2a'   # nmcli's terse form
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '198\.51\.100\.50 id \d+ subflow dev nm1' } | Out-Null
        Restart-MptcpContainer $c
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '198\.51\.100\.50 id \d+ subflow dev nm1' } | Out-Null
        $after = (Invoke-ContainerCmdlet $c { Get-MptcpNetworkManagerSetting nm1 }).Output[0]
        $after.RawFlags | Should -Be 0x2a
        ($after.Endpoints | Where-Object { "$($_.Address)" -eq '198.51.100.50' }).ByNetworkManager | Should -BeTrue
    }
}

Describe 'mptcpd making the endpoints in a booted <Release> container: the repair goes through its configuration, and a reboot keeps it' -Tag Lab, Container -Skip:$containerSkip -ForEach $releases {
    BeforeAll {
        # The host's second uplink, configured at every boot by a unit of its own (no NetworkManager profile)
        # before mptcpd starts. Debian's mptcpd.conf has neither addr-flags nor notify-flags=existing: mptcpd
        # gives that address no endpoint at all (only the link-local ones that come up later, without flags).
        $c = Start-MptcpContainer -Release $Release -Prepare {
            param($root)
            Set-Content "$root/etc/systemd/system/lab-uplink.service" @'
[Unit]
Description=The lab's second uplink
Before=mptcp.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/ip link add v0 type veth peer name v0p
ExecStart=/usr/sbin/ip link set v0p up
ExecStart=/usr/sbin/ip link set v0 up
ExecStart=/usr/sbin/ip addr add 198.51.100.60/24 dev v0
[Install]
WantedBy=multi-user.target
'@
            New-Item -ItemType SymbolicLink -Path "$root/etc/systemd/system/multi-user.target.wants/lab-uplink.service" -Target /etc/systemd/system/lab-uplink.service | Out-Null
        }
        Wait-UnitState $c mptcp.service 'active'
    }
    AfterAll { Remove-MptcpContainer $c }

    It 'finds no subflow endpoint, and proposes mptcpd''s addr-flags, not a hand-made endpoint' {
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis }
        $r.Errors | Should -BeNullOrEmpty
        $f = @($r.Output | Where-Object Id -eq 'NoSubflowEndpoints')
        $f.Count | Should -Be 1
        "$(Invoke-InContainer $c ip 'mptcp', 'endpoint')" | Should -Not -Match 'subflow'
        @($f[0].Repair.Kind) | Should -Be @('SetMptcpdAddressFlags')
        $f[0].Repair[0].AddressFlags | Should -Be 'subflow'
        $f[0].Repair[0].NotifyFlags | Should -Be 'existing,skip_link_local,skip_loopback'
        $f[0].Repair[0].Unit | Should -Be 'mptcp.service'
    }

    It 'with -Force: addr-flags in mptcpd.conf, the unit restarted, and the address''s endpoint opens subflows' {
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis | Where-Object Id -eq NoSubflowEndpoints | Repair-MptcpConfiguration -Force -Confirm:$false }
        $r.Errors | Should -BeNullOrEmpty
        $set = $r.Output | Where-Object Action -eq 'Set mptcpd addr-flags'
        $set.Applied | Should -BeTrue
        $set.Before | Should -Be 'addr-flags=, notify-flags=; active/running'
        $set.After | Should -Be 'addr-flags=subflow, notify-flags=existing,skip_link_local,skip_loopback; active/running'
        $set.Command | Should -Match 'ip mptcp endpoint delete id \d+'
        Get-Content (Join-Path $c.Root 'etc/mptcpd/mptcpd.conf') | Should -Contain 'addr-flags=subflow'
        Get-Content (Join-Path $c.Root 'etc/mptcpd/mptcpd.conf') | Should -Contain 'path-manager=addr_adv' -Because 'the other lines stay'
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '198\.51\.100\.60 id \d+ subflow dev v0' } | Out-Null
    }

    It 'still has the subflow endpoint after the container reboots, and the diagnosis passes' {
        Restart-MptcpContainer $c
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '198\.51\.100\.60 id \d+ subflow dev v0' } | Out-Null
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis -IncludePassed }
        ($r.Output | Where-Object Id -eq 'NoSubflowEndpoints').Severity | Should -Be 'Passed'
    }
}

Describe 'A healthy booted <Release> container: mptcp.service runs and NetworkManager manages the endpoints' -Tag Lab, Container -Skip:$containerSkip -ForEach $releases {
    BeforeAll {
        $c = Start-MptcpContainer -Release $Release
        Invoke-InContainer $c nmcli 'connection', 'add', 'type', 'veth', 'con-name', 'up0', 'ifname', 'nm0', 'veth.peer', 'nm0p', 'ipv4.method', 'manual',
            'ipv4.addresses', '192.0.2.50/24', 'ipv4.gateway', '192.0.2.1', 'ipv6.method', 'disabled' | Out-Null
        Invoke-InContainer $c nmcli 'connection', 'add', 'type', 'veth', 'con-name', 'up1', 'ifname', 'nm1', 'veth.peer', 'nm1p', 'ipv4.method', 'manual',
            'ipv4.addresses', '198.51.100.50/24', 'ipv4.routes', '0.0.0.0/0 198.51.100.1 table=100', 'ipv4.routing-rules', 'priority 100 from 198.51.100.50 table 100',
            'ipv6.method', 'disabled', 'connection.mptcp-flags', 'subflow,also-without-default-route' | Out-Null
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '198\.51\.100\.50 id \d+ subflow dev nm1' } | Out-Null
        # The administrator's limits, once NetworkManager has configured the endpoints.
        Invoke-InContainer $c ip 'mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2' | Out-Null
        $r = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis -IncludePassed }
    }
    AfterAll { Remove-MptcpContainer $c }

    It 'gives no Error and no Warning' {
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output | Where-Object { $_.Severity -in 'Error', 'Warning' }) | ForEach-Object { "$($_.Id): $($_.Summary)" } | Should -BeNullOrEmpty
    }

    It 'says mptcp.service runs and NetworkManager manages the endpoints' {
        ($r.Output | Where-Object Id -eq 'DaemonNotRunning').Severity | Should -Be 'Passed'
        ($r.Output | Where-Object Id -eq 'DaemonNotRunning').Summary | Should -Match 'systemd'
        $nm = @($r.Output | Where-Object Id -eq 'NetworkManagerManagesEndpoints')
        $nm.Count | Should -BeGreaterOrEqual 1
        ($nm.Summary -join ' ') | Should -Match 'nm1'
        ($r.Output | Where-Object Id -eq 'NoSubflowEndpoints').Severity | Should -Be 'Passed'
        $both = @($r.Output | Where-Object Id -eq 'EndpointManagersConflict')
        $both.Count | Should -Be 1
        $both[0].Severity | Should -Be 'Information' -Because 'every address on nm0 and nm1 has NetworkManager''s endpoint'
    }

    It 'an address added by hand on nm1 gets mptcpd''s endpoint without flags: EndpointManagersConflict turns Warning and names it' {
        Invoke-InContainer $c ip 'addr', 'add', '198.51.100.51/24', 'dev', 'nm1' | Out-Null
        # mptcpd's addr_adv adds it; NetworkManager leaves an address it did not configure alone.
        Wait-InContainer $c ip 'mptcp', 'endpoint' -Until { param($o) "$o" -match '198\.51\.100\.51 id \d+ dev nm1' } | Out-Null
        $after = Invoke-ContainerCmdlet $c { Invoke-MptcpDiagnosis }
        $hit = @($after.Output | Where-Object Id -eq 'EndpointManagersConflict')
        $hit.Count | Should -Be 1
        $hit[0].Severity | Should -Be 'Warning'
        $hit[0].Summary | Should -Be 'NetworkManager and mptcpd both manage MPTCP endpoints (nm0, nm1), and 198.51.100.51 on nm1 has an endpoint NetworkManager did not make.'
        $hit[0].Remediation | Should -Match 'systemctl disable --now mptcp.service'
    }
}
