# Host configuration against real parts: a real mptcpd in lab namespaces (its configuration bind-mounted
# over /etc/mptcpd/mptcpd.conf in a private mount namespace), real nftables and iptables rules, real
# routing, and, for systemd and NetworkManager, a D-Bus STAND-IN on a private dbus-daemon (systemd cannot
# run as PID 1 here; the stand-in answers the same interfaces, and the README says so).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $pluginDir = (Get-ChildItem /usr/lib/*/mptcpd -Directory -ErrorAction Ignore | Select-Object -First 1).FullName
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-host"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    function New-Conf([string] $Name, [string] $Text) { $f = Join-Path $work $Name; Set-Content $f $Text.Replace('PLUGINS', $pluginDir); $f }
    # A real mptcpd in a namespace, reading the given file as /etc/mptcpd/mptcpd.conf.
    function Start-Mptcpd($Lab, [string] $Namespace, [string] $Conf) {
        $p = Start-LabProcess $Lab $Namespace unshare '-m', 'sh', '-c', "mount --bind '$Conf' /etc/mptcpd/mptcpd.conf && exec /usr/libexec/mptcpd"
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ([DateTime]::UtcNow -lt $deadline -and -not (Get-Process -Id $p.Id -ErrorAction Ignore | Where-Object ProcessName -eq 'mptcpd')) { Start-Sleep -Milliseconds 100 }
        $p
    }
    $noBus = "unix:path=$work/no-such-bus"
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'A real mptcpd in a lab namespace' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $good = New-Conf 'good.conf' "[core]`nlog=stderr`nplugin-dir=PLUGINS`npath-manager=addr_adv"
        $daemon = Start-Mptcpd $lab $lab.Client $good
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'is running, found in the process table of its own namespace, with a sound configuration' {
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $good, $noBus
        $s = $r.Output[0]
        $s.Installed | Should -BeTrue
        $s.Running | Should -BeTrue
        $s.Source | Should -Be 'process table'
        $s.ProcessIds | Should -Contain $daemon.Id
        $s.Problems | Should -BeNullOrEmpty
        $s.Agreement | Should -Be 'Agree'
        $s.Version | Should -Be (& dpkg-query -W -f='${Version}' mptcpd)
    }

    It 'is not counted in another network namespace' {
        $r = Invoke-LabCmdlet $lab.Server { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $good, $noBus
        $r.Output[0].Running | Should -BeFalse
        $r.Output[0].ProcessIds | Should -Not -Contain $daemon.Id
    }

    It 'runs with a path-manager plug-in that is not installed, and the check says so with the line' {
        $bad = New-Conf 'bad.conf' "[core]`nlog=stderr`nplugin-dir=PLUGINS`npath-manager=nosuch`nload-plugins=addr_adv,sspi"
        Start-Mptcpd $lab $lab.Router $bad | Out-Null
        $r = Invoke-LabCmdlet $lab.Router { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $bad, $noBus
        $r.Output[0].Running | Should -BeTrue   # mptcpd ignores the unknown plug-in: that is why the check matters
        $p = @($r.Output[0].Problems | Where-Object Kind -eq 'PluginMissing')
        $p.Count | Should -Be 1
        $p[0].Line | Should -Be 4
    }

    It 'reports unknown keys of a configuration mptcpd was started with' {
        $keys = New-Conf 'keys.conf' "[core]`nlog=stderr`nplugin-dir=PLUGINS`npath-manager=addr_adv`naddr_flags=subflow`nmax-subflows=4"
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $keys, $noBus
        @($r.Output[0].Problems | Where-Object Kind -eq 'UnknownKey').Line | Should -Be @(5, 6)
    }
}

Describe 'Userspace path manager with and without mptcpd' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Invoke-InNamespace $lab.Server sysctl '-qw', 'net.mptcp.pm_type=1' | Out-Null
        $sspi = New-Conf 'sspi.conf' "[core]`nlog=stderr`nplugin-dir=PLUGINS`npath-manager=sspi"
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'says the kernel waits for a daemon that does not run' {
        $r = Invoke-LabCmdlet $lab.Server { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $sspi, $noBus
        $r.Output[0].KernelPathManager | Should -Be 'userspace'
        $r.Output[0].Agreement | Should -Be 'UserspacePmWithoutDaemon'
    }

    It 'agrees once mptcpd runs there' {
        Start-Mptcpd $lab $lab.Server $sspi | Out-Null
        $r = Invoke-LabCmdlet $lab.Server { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $sspi, $noBus
        $r.Output[0].Running | Should -BeTrue
        $r.Output[0].Agreement | Should -Be 'Agree'
    }

    It 'says a userspace plug-in cannot work while the kernel uses its own path manager' {
        Start-Mptcpd $lab $lab.Client $sspi | Out-Null
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -ConfigPath $args[0] -BusAddress $args[1] } -ArgumentList $sspi, $noBus
        $r.Output[0].Agreement | Should -Be 'DaemonWithKernelPm'
    }
}

Describe 'systemd and NetworkManager through a D-Bus stand-in (not the real daemons) on a private dbus-daemon' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab -NoEndpoints
        $address = (Start-LabDBus $lab).Address
        function Start-StandIn([hashtable] $Scenario) { (Start-LabDBus $lab -Scenario $Scenario).StandIn }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'reads the unit''s states, PID, exit status and state change time from systemd''s interfaces' {
        $p = Start-StandIn @{ units = @{ 'mptcp.service' = @{ LoadState = 'loaded'; ActiveState = 'active'; SubState = 'running'; UnitFileState = 'enabled'; MainPID = 4242; ExecMainStatus = 0; Result = 'success'; StateChangeTimestamp = 1764150000000000 } } }
        try {
            $r = Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -BusAddress $args[0] } -ArgumentList $address
            $s = $r.Output[0]
            $s.Source | Should -Be 'systemd'
            $s.UnitName | Should -Be 'mptcp.service'
            $s.Running | Should -BeTrue
            $s.UnitFileState | Should -Be 'enabled'
            $s.MainPid | Should -Be 4242
            $s.StateChangedAt | Should -Be ([DateTime]::UnixEpoch.AddSeconds(1764150000))
        }
        finally { $p.Kill() }
    }

    It 'finds the unit under its other name, mptcpd.service, and a failed one''s exit status' {
        $p = Start-StandIn @{ units = @{ 'mptcpd.service' = @{ LoadState = 'loaded'; ActiveState = 'failed'; SubState = 'failed'; UnitFileState = 'enabled'; MainPID = 0; ExecMainStatus = 1; Result = 'exit-code' } } }
        try {
            $s = (Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -BusAddress $args[0] } -ArgumentList $address).Output[0]
            $s.UnitName | Should -Be 'mptcpd.service'
            $s.Running | Should -BeFalse
            $s.ActiveState | Should -Be 'failed'
            $s.LastExitStatus | Should -Be 1
            $s.Result | Should -Be 'exit-code'
            $s.MainPid | Should -BeNullOrEmpty
        }
        finally { $p.Kill() }
    }

    It 'reads each active connection''s device and mptcp-flags from NetworkManager''s interfaces' {
        $p = Start-StandIn @{ networkManager = @{ version = '1.42.4'; connections = @(
                    @{ id = 'uplink-1'; uuid = 'a1'; type = '802-3-ethernet'; device = 'c0'; mptcpFlags = 0 }
                    @{ id = 'uplink-2'; uuid = 'a2'; type = '802-3-ethernet'; device = 'c1'; mptcpFlags = 1 }
                    @{ id = 'uplink-3'; uuid = 'a3'; type = 'wifi'; device = 'wl0'; mptcpFlags = 0x32 }) } }
        try {
            $r = Invoke-LabCmdlet $lab.Client { Get-MptcpNetworkManagerSetting -BusAddress $args[0] } -ArgumentList $address
            $r.Errors | Should -BeNullOrEmpty
            $r.Output.Count | Should -Be 3
            $r.Output[0].NetworkManagerVersion | Should -Be '1.42.4'
            ($r.Output | Where-Object Connection -eq 'uplink-1').ManagesEndpoints | Should -BeTrue
            ($r.Output | Where-Object Connection -eq 'uplink-2').ManagesEndpoints | Should -BeFalse
            ($r.Output | Where-Object Connection -eq 'uplink-2').Meaning | Should -Be 'disabled'
            ($r.Output | Where-Object Connection -eq 'uplink-3').Meaning | Should -Be 'enabled, signal, subflow'
            ($r.Output | Where-Object Connection -eq 'uplink-3').Devices | Should -Be 'wl0'
            (Invoke-LabCmdlet $lab.Client { Get-MptcpNetworkManagerSetting -BusAddress $args[0] -Interface c1 } -ArgumentList $address).Output.Connection | Should -Be 'uplink-2'
        }
        finally { $p.Kill() }
    }

    It 'gives an empty result and a verbose note when NetworkManager is not on the bus, and asks the process table when systemd is not' {
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpNetworkManagerSetting -BusAddress $args[0] -Verbose 4>&1 | ForEach-Object { "$_" } } -ArgumentList $address
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1   # the verbose note, and no setting
        $r.Output[0] | Should -Match 'NetworkManager is not running'
        $s = (Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -BusAddress $args[0] } -ArgumentList $address).Output[0]
        $s.Source | Should -Be 'process table'
        $s.Note | Should -Match 'No systemd'
    }
}

Describe 'Test-MptcpFirewall on real rules' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'finds nothing in the lab''s clean namespaces' {
        foreach ($ns in $lab.Client, $lab.Router, $lab.Server) {
            $r = Invoke-LabCmdlet $ns { Test-MptcpFirewall -Port 5201 }
            $r.Errors | Should -BeNullOrEmpty
            @($r.Output).Count | Should -Be 0 -Because $ns
        }
    }

    It 'finds a router''s TCPOPTSTRIP (iptables-nft), its nft drop of option 30 and a legacy DROP' {
        Invoke-InNamespace $lab.Router iptables '-t', 'mangle', '-A', 'FORWARD', '-p', 'tcp', '-j', 'TCPOPTSTRIP', '--strip-options', '30' | Out-Null
        Invoke-InNamespace $lab.Router iptables-legacy '-A', 'FORWARD', '-p', 'tcp', '-m', 'tcp', '--tcp-option', '30', '-j', 'DROP' | Out-Null
        $f = Join-Path $work 'router.nft'
        Set-Content $f "table inet mptl {`n chain forward_filter {`n  type filter hook forward priority 0;`n  tcp option mptcp exists drop`n }`n}"
        Invoke-InNamespace $lab.Router nft '-f', $f | Out-Null
        $out = @((Invoke-LabCmdlet $lab.Router { Test-MptcpFirewall }).Output)
        ($out | Where-Object { $_.Source -eq 'iptables' -and $_.Effect -eq 'StripsMptcpOption' }).Chain | Should -Be 'FORWARD'
        ($out | Where-Object { $_.Source -eq 'iptables-legacy' -and $_.Effect -eq 'DropsMptcpOption' }).Chain | Should -Be 'FORWARD'
        ($out | Where-Object { $_.Source -eq 'nftables' -and $_.Effect -eq 'DropsMptcpOption' }).Rule | Should -Be 'tcp option mptcp exists drop'
        $out.Count | Should -Be 3
    }

    It 'finds a server that admits the port on path 1''s addresses only' {
        $f = Join-Path $work 'server.nft'
        Set-Content $f "table inet mptl {`n chain input {`n  type filter hook input priority 0; policy drop;`n  ct state established,related accept`n  ip saddr 192.0.2.0/24 tcp dport 5201 accept`n }`n}"
        Invoke-InNamespace $lab.Server nft '-f', $f | Out-Null
        $out = @((Invoke-LabCmdlet $lab.Server { Test-MptcpFirewall -Port 5201 }).Output)
        $out.Count | Should -Be 1
        $out[0].Effect | Should -Be 'BlocksSubflowPath'
        $out[0].Detail | Should -Match 'from 192.0.2.0/24'
    }

    It 'finds strict reverse-path filtering on the client''s endpoint interface' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.c1.rp_filter=1' | Out-Null
        $out = @((Invoke-LabCmdlet $lab.Client { Test-MptcpFirewall }).Output)
        $out.Count | Should -Be 1
        $out[0].Effect | Should -Be 'StrictReversePath'
        $out[0].Rule | Should -Match 'c1'
    }
}

Describe 'Test-MptcpRouting on the lab''s routes' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'passes the lab''s correct routing for both endpoints, against the default gateways and the server' {
        $out = @((Invoke-LabCmdlet $lab.Client { Test-MptcpRouting; Test-MptcpRouting -Destination 203.0.113.2, 2001:db8:3::2 }).Output)
        $out.Count | Should -Be 4
        foreach ($o in $out) { $o.Status | Should -Be 'Ok'; $o.OutputInterface | Should -Be 'c1'; $o.HasSourceRule | Should -BeTrue }
        ($out | Where-Object { $_.Destination -eq '203.0.113.2' }).Table | Should -Be 100
    }

    It 'finds a missing source route and a removed endpoint address, and agrees with ip route get' {
        Invoke-InNamespace $lab.Client ip 'rule', 'del', 'from', $lab.Addresses.ClientPath2, 'table', '100' | Out-Null
        Invoke-InNamespace $lab.Client ip '-6', 'addr', 'del', "$($lab.Addresses.ClientPath2V6)/64", 'dev', 'c1' | Out-Null
        $out = @((Invoke-LabCmdlet $lab.Client { Test-MptcpRouting -Destination 203.0.113.2, 2001:db8:3::2 }).Output)
        $v4 = $out | Where-Object Address -eq $lab.Addresses.ClientPath2
        $v4.Status | Should -Be 'MissingSourceRoute'
        $ipSays = (Invoke-InNamespace $lab.Client ip 'route', 'get', '203.0.113.2', 'from', $lab.Addresses.ClientPath2) -join ' '
        $ipSays | Should -Match "dev $($v4.OutputInterface) "
        ($out | Where-Object Address -eq $lab.Addresses.ClientPath2V6).Status | Should -Be 'AddressMissing'
    }
}
