# Host configuration against real parts: a real mptcpd in lab namespaces (its configuration bind-mounted
# over /etc/mptcpd/mptcpd.conf in a private mount namespace), real nftables and iptables rules, real
# routing, and, for D-Bus failures only, a D-Bus STAND-IN on a private dbus-daemon. Real systemd and
# NetworkManager are in Containers.Lab.Tests.ps1.
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

# Real systemd and NetworkManager are tested in booted containers (Containers.Lab.Tests.ps1). The stand-in
# remains for what they cannot be made to do on demand: answer with a D-Bus error, or leave the bus mid-call.
Describe 'D-Bus failures, through a D-Bus stand-in (not the real daemons) on a private dbus-daemon' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab -NoEndpoints
        $address = (Start-LabDBus $lab).Address
        function Start-StandIn([hashtable] $Scenario) { (Start-LabDBus $lab -Scenario $Scenario).StandIn }
        $unit = @{ LoadState = 'loaded'; ActiveState = 'failed'; SubState = 'failed'; UnitFileState = 'enabled'; MainPID = 0; ExecMainStatus = 1; Result = 'exit-code' }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'systemd refusing the unit''s properties (AccessDenied): the process table answers, and the note says why' {
        $p = Start-StandIn @{ units = @{ 'mptcp.service' = $unit }; errors = @{ GetAll = 'org.freedesktop.DBus.Error.AccessDenied' } }
        try {
            $r = Invoke-LabCmdlet $lab.Client { Get-MptcpDaemonStatus -BusAddress $args[0] } -ArgumentList $address
            $r.Errors | Should -BeNullOrEmpty
            $r.Output[0].Source | Should -Be 'process table'
            $r.Output[0].Note | Should -Match 'refused by the stand-in'
        }
        finally { if (-not $p.HasExited) { $p.Kill() } }
    }

    It 'systemd refusing StartUnit: the repair is a RepairFailed error on the record, not a crash' {
        $p = Start-StandIn @{ units = @{ 'mptcp.service' = $unit }; errors = @{ StartUnit = 'org.freedesktop.systemd1.UnitMasked' } }
        try {
            $r = Invoke-LabCmdlet $lab.Client {
                $repair = [MptcpTools.Diagnosis.UnitRepair]@{ FindingId = 'DaemonNotRunning'; Unit = 'mptcp.service' }
                [pscustomobject]@{ Repair = @($repair) } | Repair-MptcpConfiguration -BusAddress $args[0] -Confirm:$false
            } -ArgumentList $address
            $r.Output | Should -BeNullOrEmpty
            $r.Errors.Count | Should -Be 1
            $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'RepairFailed,*'
            $r.Errors[0].Category | Should -Be 'ResourceUnavailable'
            $r.Errors[0].Message | Should -Match 'refused by the stand-in'
        }
        finally { if (-not $p.HasExited) { $p.Kill() } }
    }

    It 'NetworkManager leaving the bus in the middle of a call: an empty result and a verbose note, not a crash' {
        $p = Start-StandIn @{ networkManager = @{ version = '1.42.4'; connections = @(@{ id = 'uplink-1'; uuid = 'a1'; type = '802-3-ethernet'; device = 'c0'; mptcpFlags = 0 }) }; dropOn = 'GetSettings' }
        try {
            $r = Invoke-LabCmdlet $lab.Client { Get-MptcpNetworkManagerSetting -BusAddress $args[0] -Verbose 4>&1 | ForEach-Object { "$_" } } -ArgumentList $address
            $r.Errors | Should -BeNullOrEmpty
            @($r.Output).Count | Should -Be 1   # the verbose note, and no setting
            $r.Output[0] | Should -Match 'NetworkManager'
            $p.WaitForExit(5000) | Should -BeTrue -Because 'the stand-in left the bus'
        }
        finally { if (-not $p.HasExited) { $p.Kill() } }
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
        Add-LabNftRules $lab.Router "table inet mptl {`n chain forward_filter {`n  type filter hook forward priority 0;`n  tcp option mptcp exists drop`n }`n}"
        $out = @((Invoke-LabCmdlet $lab.Router { Test-MptcpFirewall }).Output)
        ($out | Where-Object { $_.Source -eq 'iptables' -and $_.Effect -eq 'StripsMptcpOption' }).Chain | Should -Be 'FORWARD'
        ($out | Where-Object { $_.Source -eq 'iptables-legacy' -and $_.Effect -eq 'DropsMptcpOption' }).Chain | Should -Be 'FORWARD'
        ($out | Where-Object { $_.Source -eq 'nftables' -and $_.Effect -eq 'DropsMptcpOption' }).Rule | Should -Be 'tcp option mptcp exists drop'
        $out.Count | Should -Be 3
    }

    It 'finds a server that admits the port on path 1''s addresses only' {
        Add-LabNftRules $lab.Server "table inet mptl {`n chain input {`n  type filter hook input priority 0; policy drop;`n  ct state established,related accept`n  ip saddr 192.0.2.0/24 tcp dport 5201 accept`n }`n}"
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
