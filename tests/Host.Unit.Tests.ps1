# The Host layer's pure parts, on fixtures: mptcpd configurations, real `nft -j`/`nft -a` and
# `iptables-nft-save` output captured in a lab namespace (tests/Fixtures), rp_filter trees, and the
# judgments of daemon/kernel agreement and NetworkManager flags.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    $fixtures = Join-Path $PSScriptRoot 'Fixtures'
    $noInterfaces = [string[]]@()
}

Describe 'mptcpd configuration' {
    BeforeAll {
        $plugins = Join-Path $TestDrive 'plugins'
        New-Item -ItemType Directory -Path $plugins | Out-Null
        'addr_adv', 'sspi' | ForEach-Object { Set-Content (Join-Path $plugins "$_.so") 'x' }
        function Read-Conf([string] $Text) {
            $file = Join-Path $TestDrive ([guid]::NewGuid().ToString('n') + '.conf')
            Set-Content $file $Text.Replace('PLUGINS', $plugins)
            [MptcpTools.Host.MptcpdConfig]::Read($file)
        }
    }

    It 'finds nothing wrong with the configuration Debian ships (pointed at real plug-ins)' {
        $c = Read-Conf "# comment`n[core]`nlog=stderr`nplugin-dir=PLUGINS`npath-manager=addr_adv`n# addr-flags=subflow"
        $c.Problems | Should -BeNullOrEmpty
        $c.PathManager | Should -Be 'addr_adv'
        $c.InstalledPlugins | Should -Be @('addr_adv', 'sspi')
    }

    It 'reports <Case> as <Kind> on line <Line>' -ForEach @(
        @{ Case = 'an unknown key, naming the one meant'; Text = "[core]`nplugin-dir=PLUGINS`npath_manager=addr_adv"; Kind = 'UnknownKey'; Line = 3; Message = "*'path-manager'*" }
        @{ Case = 'signal with fullmesh'; Text = "[core]`nplugin-dir=PLUGINS`naddr-flags=subflow,signal,fullmesh"; Kind = 'ConflictingFlags'; Line = 3; Message = '*exclude*' }
        @{ Case = 'a path-manager plug-in that is not installed'; Text = "[core]`nplugin-dir=PLUGINS`npath-manager=nosuch"; Kind = 'PluginMissing'; Line = 3; Message = '*nosuch.so*addr_adv, sspi*' }
        @{ Case = 'a load-plugins entry that is not installed'; Text = "[core]`nplugin-dir=PLUGINS`nload-plugins=addr_adv,other"; Kind = 'PluginMissing'; Line = 3; Message = '*other*' }
        @{ Case = 'a missing plug-in directory'; Text = "[core]`nplugin-dir=/nonexistent/mptcpd"; Kind = 'PluginDirMissing'; Line = 2; Message = '*does not exist*' }
        @{ Case = 'an unknown log target'; Text = "[core]`nlog=file"; Kind = 'InvalidValue'; Line = 2; Message = '*stderr*' }
        @{ Case = 'an unknown address flag'; Text = "[core]`naddr-flags=subflow,laminar"; Kind = 'InvalidValue'; Line = 2; Message = "*'laminar'*" }
        @{ Case = 'a section mptcpd does not read'; Text = "[daemon]`nlog=stderr"; Kind = 'UnknownSection'; Line = 1; Message = '*core*' }
        @{ Case = 'a line that is not key=value'; Text = "[core]`nlog stderr"; Kind = 'SyntaxError'; Line = 2; Message = '*key=value*' }
        @{ Case = 'a key before any section'; Text = "log=stderr`n[core]"; Kind = 'SyntaxError'; Line = 1; Message = '*before any section*' }
    ) {
        $c = Read-Conf $Text
        $p = @($c.Problems | Where-Object Kind -eq $Kind)
        $p.Count | Should -Be 1 -Because ($c.Problems -join '; ')
        $p[0].Line | Should -Be $Line
        $p[0].Message | Should -BeLike $Message
        $p[0].File | Should -Be $c.Path
    }

    It 'reports an empty plug-in directory, a missing file and a directory as a file' {
        $empty = Join-Path $TestDrive 'empty'; New-Item -ItemType Directory $empty | Out-Null
        (Read-Conf "[core]`nplugin-dir=$empty").Problems.Kind | Should -Be 'PluginDirMissing'
        ([MptcpTools.Host.MptcpdConfig]::Read((Join-Path $TestDrive 'none.conf'))).Problems.Kind | Should -Be 'FileMissing'
        ([MptcpTools.Host.MptcpdConfig]::Read($TestDrive)).Problems.Kind | Should -Be 'Unreadable'
    }

    It 'Get-MptcpDaemonStatus -ConfigPath reports the same problems, with file and line' {
        $file = Join-Path $TestDrive 'broken.conf'
        Set-Content $file "[core]`nplugin-dir=$plugins`nload-plugins=sspi,gone`nnotify_flags=existing"
        $status = Get-MptcpDaemonStatus -ConfigPath $file -BusAddress 'unix:path=/nonexistent/bus'
        @($status.Problems.Kind | ForEach-Object ToString | Sort-Object) | Should -Be @('PluginMissing', 'UnknownKey')
        ($status.Problems | Where-Object Kind -eq UnknownKey).Line | Should -Be 4
        $status.Source | Should -Be 'process table'
        $status.Note | Should -Match 'nonexistent'
    }
}

Describe 'Daemon and kernel agreement' {
    It '<Expect> when running=<Running>, plug-in <Plugin>, kernel <Kernel>' -ForEach @(
        @{ Running = $false; Plugin = 'addr_adv'; Kernel = 'userspace'; Expect = 'UserspacePmWithoutDaemon' }
        @{ Running = $true; Plugin = 'sspi'; Kernel = 'kernel'; Expect = 'DaemonWithKernelPm' }
        @{ Running = $true; Plugin = 'addr_adv'; Kernel = 'kernel'; Expect = 'Agree' }
        @{ Running = $true; Plugin = 'sspi'; Kernel = 'userspace'; Expect = 'Agree' }
        @{ Running = $false; Plugin = $null; Kernel = 'kernel'; Expect = 'Agree' }
        @{ Running = $false; Plugin = $null; Kernel = $null; Expect = 'Unknown' }
    ) {
        "$([MptcpTools.Diagnosis.DaemonJudge]::Judge($Running, $Plugin, $Kernel).Item1)" | Should -Be $Expect
    }
}

Describe 'NetworkManager mptcp-flags' {
    It 'reads flags <Raw> with net.mptcp.enabled=<Sysctl> as "<Meaning>", managing endpoints: <Manages>' -ForEach @(
        @{ Raw = 0; Sysctl = $true; Meaning = 'default*'; Manages = $true }
        @{ Raw = 0; Sysctl = $false; Meaning = 'default*'; Manages = $false }
        @{ Raw = 1; Sysctl = $true; Meaning = 'disabled'; Manages = $false }
        @{ Raw = 0x22; Sysctl = $true; Meaning = 'enabled, subflow'; Manages = $true }
        @{ Raw = 0x22; Sysctl = $false; Meaning = 'enabled, subflow'; Manages = $false }
        @{ Raw = 0x26; Sysctl = $false; Meaning = 'enabled, also-without-sysctl, subflow'; Manages = $true }
        @{ Raw = 0x92; Sysctl = $true; Meaning = 'enabled, signal, fullmesh'; Manages = $true }
    ) {
        [MptcpTools.Host.NetworkManagerMptcpSetting]::Describe($Raw) | Should -BeLike $Meaning
        $r = [MptcpTools.Diagnosis.NetworkManagerJudge]::Assess([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'c'; RawFlags = $Raw }, $Sysctl)
        $r.ManagesEndpoints | Should -Be $Manages
        $r.Meaning | Should -BeLike $Meaning
        $r.Detail | Should -Not -BeNullOrEmpty
    }
}

Describe 'Writing mptcpd''s [core] keys' {
    It 'replaces the keys it sets, adds the missing ones after [core], and keeps every other line and the file''s mode' {
        $file = Join-Path $TestDrive 'mptcpd.conf'
        Set-Content $file "# Debian's file`n[core]`nlog=stderr`naddr-flags = signal`npath-manager=addr_adv`n[other]`naddr-flags=x" -NoNewline
        & chmod 640 $file
        $keys = [Collections.Generic.Dictionary[string, string]]::new()
        $keys['addr-flags'] = 'subflow'; $keys['notify-flags'] = 'existing'
        $before = [MptcpTools.Host.MptcpdConfig]::WriteCoreKeys($file, $keys)
        $before | Should -BeLike "# Debian's file*"
        Get-Content $file | Should -Be @("# Debian's file", '[core]', 'notify-flags=existing', 'log=stderr', 'addr-flags=subflow', 'path-manager=addr_adv', '[other]', 'addr-flags=x')
        "$(& stat -c %a $file)" | Should -Be '640'
        $c = [MptcpTools.Host.MptcpdConfig]::Read($file)
        $c.AddressFlags | Should -Be 'subflow'
        $c.NotifyFlagList | Should -Be 'existing'
    }
}

Describe 'The journal of a unit, from journalctl''s JSON' {
    It 'reads the lines of a real failed mptcp.service (Debian 12) as journalctl printed them, with time, writer and PID' {
        $r = [MptcpTools.Host.Journal]::Parse((Get-Content (Join-Path $fixtures 'journal-mptcp-failed.json') -Raw))
        $r.Item2 | Should -BeNullOrEmpty
        $entries = $r.Item1
        # The same moment as `journalctl -o short-unix`: "SECONDS.MICROS host WRITER[PID]: MESSAGE".
        $text = @(Get-Content (Join-Path $fixtures 'journal-mptcp-failed.txt'))
        $entries.Count | Should -Be $text.Count
        for ($i = 0; $i -lt $text.Count; $i++) {
            $text[$i] -match '^(\d+)\.(\d{6}) \S+ ([^\[]+)\[(\d+)\]: (.*)$' | Should -BeTrue
            $entries[$i].Time | Should -Be ([DateTime]::UnixEpoch.AddSeconds([long]$Matches[1]).AddTicks([long]$Matches[2] * 10))
            $entries[$i].Identifier | Should -Be $Matches[3]
            $entries[$i].ProcessId | Should -Be ([int]$Matches[4])
            $entries[$i].Message | Should -Be $Matches[5]
        }
        $entries[6].Priority | Should -Be 3   # mptcpd's error
    }

    It 'decodes a message the journal exports as bytes, and leaves out (and counts) a line that is not an object' {
        $json = '{"MESSAGE":[104,105,255],"_PID":"7","PRIORITY":"9"}' + "`n" + 'garbage' + "`n" + '[1,2]' + "`n" + '{"MESSAGE":null,"__REALTIME_TIMESTAMP":"x"}'
        $r = [MptcpTools.Host.Journal]::Parse($json)
        $r.Item1.Count | Should -Be 2
        $r.Item1[0].Message | Should -Be "hi$([char]0xFFFD)"
        $r.Item1[0].Priority | Should -BeNullOrEmpty   # not a syslog priority
        $r.Item1[1].Message | Should -Be ''
        $r.Item1[1].Time | Should -BeNullOrEmpty
        $r.Item2 | Should -Match '^2 journal line'
    }

    It 'refuses a unit name that is not one, without running journalctl' {
        [MptcpTools.Host.Journal]::ReadUnit('--since=x', 5).Item2 | Should -Match 'is not a unit name'
        [MptcpTools.Host.Journal]::ReadUnit('a b', 5).Item2 | Should -Match 'is not a unit name'
    }
}

Describe 'NetworkManager''s global default of mptcp-flags, from its configuration files' {
    BeforeAll {
        function New-Tree([hashtable] $Files) {
            $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
            foreach ($k in $Files.Keys) { $f = Join-Path $root $k; New-Item -ItemType Directory -Path (Split-Path $f) -Force | Out-Null; Set-Content $f $Files[$k] }
            $root
        }
    }

    It 'takes <Case>' -ForEach @(
        @{ Case = 'nothing when no file sets it'; Files = @{ 'etc/NetworkManager/NetworkManager.conf' = "[main]`nplugins=keyfile" }; Flags = $null; Source = $null }
        @{ Case = 'NetworkManager.conf''s [connection] value'; Files = @{ 'etc/NetworkManager/NetworkManager.conf' = "[main]`n[connection]`nconnection.mptcp-flags=0x22" }; Flags = 0x22; Source = 'NetworkManager.conf:3' }
        @{ Case = 'a conf.d file over NetworkManager.conf, and /etc over /usr/lib for the same name'; Files = @{
                'etc/NetworkManager/NetworkManager.conf' = "[connection]`nconnection.mptcp-flags=0x22"
                'usr/lib/NetworkManager/conf.d/20-mptcp.conf' = "[connection-mptcp]`nconnection.mptcp-flags=0x12"
                'etc/NetworkManager/conf.d/20-mptcp.conf' = "# local`n[connection-mptcp]`nconnection.mptcp-flags=34" }; Flags = 34; Source = 'etc/NetworkManager/conf.d/20-mptcp.conf:3' }
        @{ Case = 'not a section for some devices only (match-device)'; Files = @{ 'etc/NetworkManager/conf.d/10-wifi.conf' = "[connection-wifi]`nmatch-device=type:wifi`nconnection.mptcp-flags=1" }; Flags = $null; Source = $null }
        @{ Case = 'no flags from a value that is not a number'; Files = @{ 'etc/NetworkManager/conf.d/10-x.conf' = "[connection]`nconnection.mptcp-flags=enabled,subflow" }; Flags = $null; Source = '10-x.conf:2' }
    ) {
        $r = [MptcpTools.Host.NetworkManagerConfig]::ReadMptcpFlags((New-Tree $Files))
        $r.Item1 | Should -Be $Flags
        if ($Source) { $r.Item2 | Should -BeLike "*$Source" } else { $r.Item2 | Should -BeNullOrEmpty }
    }
}

Describe 'Which endpoints NetworkManager made, and why an address has none' {
    BeforeAll {
        function New-Address([string] $Device, [string] $Address, [bool] $DefaultRoute) {
            [MptcpTools.Host.NetworkManagerAddress]@{ Device = $Device; Address = [ipaddress]$Address; PrefixLength = 24; DefaultRoute = $DefaultRoute }
        }
        $endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(
            [MptcpTools.Kernel.MptcpEndpoint]::new(1, [ipaddress]'192.0.2.50', 0, 2, 3, 'nm0')
            [MptcpTools.Kernel.MptcpEndpoint]::new(2, [ipaddress]'192.0.2.51', 0, 0, 3, 'nm0'))
    }

    It 'says <Address> on <Device> with mptcp-flags <Flags>: <Expect>' -ForEach @(
        @{ Device = 'nm0'; Address = '192.0.2.50'; Flags = 0; Route = $true; Sysctl = $true; Expect = 'endpoint 1, NetworkManager''s'; Id = 1; Ours = $true }
        @{ Device = 'nm0'; Address = '192.0.2.51'; Flags = 0; Route = $true; Sysctl = $true; Expect = 'endpoint 2, another tool''s (no flags)'; Id = 2; Ours = $false }
        @{ Device = 'nm1'; Address = '198.51.100.50'; Flags = 0; Route = $false; Sysctl = $true; Expect = 'no default route'; Reason = 'nm1 has no IPv4 default route*also-without-default-route*'; NoDefault = $true }
        @{ Device = 'nm1'; Address = '198.51.100.50'; Flags = 0x2a; Route = $false; Sysctl = $true; Expect = 'missing though it should not be'; Reason = 'NetworkManager should have made one*' }
        @{ Device = 'nm1'; Address = '2001:db8::5'; Flags = 0x22; Route = $false; Sysctl = $true; Expect = 'no IPv6 default route'; Reason = 'nm1 has no IPv6 default route*'; NoDefault = $true }
        @{ Device = 'nm1'; Address = 'fe80::1'; Flags = 0x2a; Route = $true; Sysctl = $true; Expect = 'link-local'; Reason = '*link-local*' }
        @{ Device = 'nm2'; Address = '203.0.113.50'; Flags = 1; Route = $true; Sysctl = $true; Expect = 'disabled'; Reason = 'mptcp-flags=disabled.' }
        @{ Device = 'nm2'; Address = '203.0.113.50'; Flags = 0x22; Route = $true; Sysctl = $false; Expect = 'sysctl off'; Reason = 'net.mptcp.enabled is 0*' }
    ) {
        $s = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'c'; Devices = [string[]]@($Device); RawFlags = $Flags
            Addresses = [MptcpTools.Host.NetworkManagerAddress[]]@(New-Address $Device $Address $Route) }
        $e = [MptcpTools.Diagnosis.NetworkManagerJudge]::Assess($s, $Sysctl, $endpoints).Endpoints
        $e.Count | Should -Be 1
        if ($Id) {
            $e[0].EndpointId | Should -Be $Id
            $e[0].ByNetworkManager | Should -Be $Ours
        }
        else {
            $e[0].EndpointId | Should -BeNullOrEmpty
            $e[0].Reason | Should -BeLike $Reason
            # The rules judge this typed cause, never the Reason's words.
            $e[0].NoDefaultRoute | Should -Be ([bool]$NoDefault)
        }
    }

    It 'gives the endpoint flags NetworkManager sets: signal, subflow, backup and fullmesh, one kernel bit each' {
        [MptcpTools.Diagnosis.NetworkManagerJudge]::EndpointFlagsOf(0x22) | Should -Be 'Subflow'
        [MptcpTools.Diagnosis.NetworkManagerJudge]::EndpointFlagsOf(0x52) | Should -Be 'Signal, Backup'
        [MptcpTools.Diagnosis.NetworkManagerJudge]::EndpointFlagsOf(0x2) | Should -Be 'None'
    }

    It 'uses the global default when the connection''s flags are 0, and says so' {
        $s = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'c'; RawFlags = 0; GlobalDefaultFlags = 1; GlobalDefaultSource = '/etc/NetworkManager/conf.d/x.conf:2' }
        $r = [MptcpTools.Diagnosis.NetworkManagerJudge]::Assess($s, $true)
        $r.ManagesEndpoints | Should -BeFalse
        $r.Detail | Should -Match 'global default \(/etc/NetworkManager/conf.d/x.conf:2: mptcp-flags disabled\)'
        $r.EffectiveFlags | Should -Be 1
    }
}

Describe 'Firewall rules from real nft output' {
    BeforeAll {
        $json = Get-Content -Raw (Join-Path $fixtures 'nft-ruleset.json')
        $text = Get-Content -Raw (Join-Path $fixtures 'nft-ruleset.txt')
        $none = [Collections.Generic.HashSet[string]]::new()
        function Invoke-Judge($Json, $Text, $Port, [string[]] $Interfaces, $Skip) {
            $parsed = [MptcpTools.Host.NftablesRuleset]::Parse($Json, $Text, $Skip)
            $set = [MptcpTools.Host.FirewallRuleset]::new(); $set.Chains.AddRange($parsed.Item1); $set.Rules.AddRange($parsed.Item2)
            [MptcpTools.Diagnosis.FirewallJudge]::Judge($set, $Port, $Interfaces)
        }
        $found = Invoke-Judge $json $text 5201 @('eth0', 'eth1') $none
        function Get-ByHandle([long] $h) { @($found | Where-Object Handle -eq $h) }
    }

    It 'finds "tcp option mptcp exists drop" and a subtype drop, with their text and handles' {
        (Get-ByHandle 9).Effect | Should -Be 'DropsMptcpOption'
        (Get-ByHandle 9).Rule | Should -Be 'tcp option mptcp exists drop'
        (Get-ByHandle 9).Remediation | Should -Be 'Delete the rule: nft delete rule inet filter forward handle 9'
        (Get-ByHandle 9).Severity | Should -Be 'Error'
        (Get-ByHandle 9).Repair.Kind | Should -Be 'DeleteNftablesRule'
        (Get-ByHandle 9).Repair.Handle | Should -Be 9
        (Get-ByHandle 7).Effect | Should -Be 'DropsMptcpOption'
        (Get-ByHandle 7).Detail | Should -Match 'subtype 1'
    }

    It 'finds "reset tcp option mptcp" as stripping' {
        (Get-ByHandle 10).Effect | Should -Be 'StripsMptcpOption'
    }

    It 'leaves "tcp option mptcp missing accept" alone, and reports a raw header match as Unjudged' {
        Get-ByHandle 8 | Should -BeNullOrEmpty
        (Get-ByHandle 11).Effect | Should -Be 'Unjudged'
    }

    It 'finds port 5201 admitted only on eth0 under a drop policy, when eth1 carries subflows' {
        $b = Get-ByHandle 4
        $b.Effect | Should -Be 'BlocksSubflowPath'
        $b.Detail | Should -Match 'only on eth0'
        $b.Detail | Should -Match 'arrive on eth1'
        # port 22 is admitted everywhere: no finding for it, nor for 8080 when -Port is 5201
        Get-ByHandle 6 | Should -BeNullOrEmpty
        Get-ByHandle 5 | Should -BeNullOrEmpty
    }

    It 'does not judge tables that iptables-nft made (they are read through iptables-save)' {
        $skip = [Collections.Generic.HashSet[string]]::new(); $null = $skip.Add('inet/filter')
        @(Invoke-Judge $json $text 5201 $noInterfaces $skip).Count | Should -Be 0
    }

    It 'gives each rule its own text when two tables use the same handles (captured from nft 1.0.6)' {
        $json2 = Get-Content -Raw (Join-Path $fixtures 'nft-two-tables.json')
        $text2 = Get-Content -Raw (Join-Path $fixtures 'nft-two-tables.txt')
        $rules = [MptcpTools.Host.NftablesRuleset]::Parse($json2, $text2, $none).Item2
        ($rules | Where-Object { $_.Table -eq 'mptl' -and $_.Handle -eq 3 }).Text | Should -Be 'tcp option mptcp exists drop comment "no mptcp, it''s a test"'
        ($rules | Where-Object { $_.Table -eq 'other' -and $_.Handle -eq 3 }).Text | Should -Be 'tcp dport 80 accept'
        ($rules | Where-Object { $_.Table -eq 'mptl' }).Position | Should -Be @(1, 2, 3)
        $drop = @(Invoke-Judge $json2 $text2 $null @() $none)
        $drop.Count | Should -Be 1
        $drop[0].Repair.Index | Should -Be 1
        $drop[0].Repair.Last | Should -BeFalse
        $drop[0].Repair.Undo | Should -Match '"insert":\{"rule":\{"family":"inet","table":"mptl","chain":"output_filter","comment":"no mptcp, it''\\''''s a test"'
    }

    It 'finds nothing in a clean ruleset' {
        $clean = '{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "t", "handle": 1}}, {"chain": {"family": "inet", "table": "t", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}]}'
        @(Invoke-Judge $clean '' 5201 $noInterfaces $none).Count | Should -Be 0
    }
}

Describe 'Firewall rules from real iptables-nft-save output' {
    BeforeAll {
        $save = Get-Content -Raw (Join-Path $fixtures 'iptables-nft-save.txt')
        function Invoke-Judge([string] $Text, $Port, [string[]] $Interfaces) {
            $parsed = [MptcpTools.Host.IptablesSave]::Parse($Text, 'iptables', 'ip')
            $set = [MptcpTools.Host.FirewallRuleset]::new(); $set.Chains.AddRange($parsed.Item1); $set.Rules.AddRange($parsed.Item2)
            [MptcpTools.Diagnosis.FirewallJudge]::Judge($set, $Port, $Interfaces)
        }
        $found = Invoke-Judge $save 5201 @('eth0', 'eth1')
    }

    It 'finds TCPOPTSTRIP of 8,30 as stripping, with the line and the exact delete command' {
        $s = @($found | Where-Object Effect -eq StripsMptcpOption)
        $s.Count | Should -Be 1
        $s[0].Table | Should -Be 'mangle'
        $s[0].Line | Should -Be 8
        $s[0].Remediation | Should -Match 'iptables-nft -t mangle -D FORWARD -p tcp -j TCPOPTSTRIP --strip-options 8,30'
    }

    It 'finds --tcp-option 30 -j REJECT, and not "! --tcp-option 30"' {
        $d = @($found | Where-Object Effect -eq DropsMptcpOption)
        $d.Count | Should -Be 1
        $d[0].Rule | Should -BeLike '*--tcp-option 30 -j REJECT*'
    }

    It 'reports the u32 drop as Unjudged and the port admitted only on eth1 as blocking eth0''s subflows' {
        @($found | Where-Object Effect -eq Unjudged).Rule | Should -BeLike '*-m u32*'
        $b = @($found | Where-Object Effect -eq BlocksSubflowPath)
        $b.Count | Should -Be 1
        $b[0].Detail | Should -Match 'arrive on eth0'
    }

    It 'reads a ruleset of 3000 rules and finds each of the 1000 option-30 drops in it' {
        $lines = [Collections.Generic.List[string]]::new()
        $lines.Add('*filter'); $lines.Add(':INPUT ACCEPT [0:0]')
        for ($i = 0; $i -lt 1000; $i++) {
            $lines.Add("-A INPUT -s 198.51.100.$($i % 250)/32 -p tcp -m tcp --dport $(1000 + $i) -j ACCEPT")
            $lines.Add("-A INPUT -p udp -m udp --dport $(2000 + $i) -j DROP")
            $lines.Add("-A INPUT -s 203.0.113.$($i % 250)/32 -p tcp -m tcp --tcp-option 30 -j DROP")
        }
        $lines.Add('COMMIT')
        $big = Invoke-Judge ($lines -join "`n") $null $noInterfaces
        $big.Count | Should -Be 1000
        ($big | Select-Object -Last 1).Line | Should -Be 3002
    }
}

Describe 'Reverse-path filtering' {
    It 'flags strict mode on an endpoint interface, from the interface or from "all"' {
        $conf = Join-Path $TestDrive 'conf'
        foreach ($d in 'all', 'eth0', 'eth1', 'eth2') { New-Item -ItemType Directory -Path "$conf/$d" -Force | Out-Null }
        Set-Content "$conf/all/rp_filter" '0'; Set-Content "$conf/eth0/rp_filter" '1'; Set-Content "$conf/eth1/rp_filter" '2'; Set-Content "$conf/eth2/rp_filter" '0'
        $settings = [MptcpTools.Host.ReversePathFilter]::Read($conf)
        @($settings).Count | Should -Be 4
        $found = @([MptcpTools.Diagnosis.FirewallJudge]::JudgeReversePath($settings, [string[]]@('eth0', 'eth1', 'eth2')))
        @($found).Count | Should -Be 1
        $found[0].Rule | Should -Be 'net.ipv4.conf.eth0.rp_filter = 1 (all = 0)'
        $found[0].Remediation | Should -Match 'rp_filter=2'
        $found[0].Repair.Interface | Should -Be 'eth0'
        $found[0].Repair.Command | Should -Be 'sysctl -w net.ipv4.conf.eth0.rp_filter=2'
        Set-Content "$conf/all/rp_filter" '1'
        $all = @([MptcpTools.Diagnosis.FirewallJudge]::JudgeReversePath([MptcpTools.Host.ReversePathFilter]::Read($conf), [string[]]@('eth2')))
        $all.Count | Should -Be 1
        # The kernel applies the larger of all and the interface: loosening eth2 alone is enough.
        $all[0].Repair.Command | Should -Be 'sysctl -w net.ipv4.conf.eth2.rp_filter=2'
    }
}

Describe 'Routing judgment' {
    BeforeAll {
        $endpoint = [MptcpTools.Kernel.MptcpEndpoint]::new(1, [ipaddress]'198.51.100.2', 0, 2, 3, 'eth1')
        $addresses = [MptcpTools.Kernel.InterfaceAddress[]]@([MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'198.51.100.2', 24, 3, 'eth1'))
        $rule = [MptcpTools.Kernel.RoutingRule]::new(2, 32765, [ipaddress]'198.51.100.0', 24, $null, 0, 100, 1)
        $noRules = [MptcpTools.Kernel.RoutingRule[]]@()
        function New-Route([string] $Dev) { [MptcpTools.Kernel.RouteLookup]::new([ipaddress]'203.0.113.2', [ipaddress]'198.51.100.2', 3, $Dev, [ipaddress]'198.51.100.1', $null, 100) }
    }

    It 'is Ok when traffic from the address leaves through its interface, and sees a covering source rule' {
        $r = [MptcpTools.Diagnosis.RoutingJudge]::Judge($endpoint, [ipaddress]'203.0.113.2', $addresses, (New-Route 'eth1'), [MptcpTools.Kernel.RoutingRule[]]@($rule))
        $r.Status | Should -Be 'Ok'
        $r.HasSourceRule | Should -BeTrue
    }

    It 'is MissingSourceRoute when it leaves through another interface' {
        $r = [MptcpTools.Diagnosis.RoutingJudge]::Judge($endpoint, [ipaddress]'203.0.113.2', $addresses, (New-Route 'eth0'), $noRules)
        $r.Status | Should -Be 'MissingSourceRoute'
        $r.HasSourceRule | Should -BeFalse
        $r.Remediation | Should -Match 'ip rule add from 198.51.100.2 table 100'
    }

    It 'is AddressMissing when the address is not on its interface, and NoRoute without a route' {
        $empty = [MptcpTools.Kernel.InterfaceAddress[]]@()
        ([MptcpTools.Diagnosis.RoutingJudge]::Judge($endpoint, [ipaddress]'203.0.113.2', $empty, (New-Route 'eth1'), $noRules)).Status | Should -Be 'AddressMissing'
        ([MptcpTools.Diagnosis.RoutingJudge]::Judge($endpoint, [ipaddress]'203.0.113.2', $addresses, $null, $noRules)).Status | Should -Be 'NoRoute'
    }
}

Describe 'iptables-save lines read as iptables-restore reads them' {
    It 'unquotes a comment with spaces, quotes and a backslash, as iptables-nft-save 1.8.9 printed it' {
        # Printed by iptables-save for: --comment 'allow "mptcp" it'\''s \ back'
        $line = '-A OUTPUT -p tcp -m comment --comment "allow \"mptcp\" it\''s \\ back" -m tcp --tcp-option 30 -j DROP'
        $tokens = [MptcpTools.Host.IptablesSave]::Tokenize($line)
        $tokens | Should -Be @('-A', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', 'allow "mptcp" it''s \ back', '-m', 'tcp', '--tcp-option', '30', '-j', 'DROP')
        $parsed = [MptcpTools.Host.IptablesSave]::Parse("*filter`n:OUTPUT ACCEPT [0:0]`n$line`nCOMMIT", 'iptables', 'ip')
        $rule = $parsed.Item2[0]
        $rule.MatchesMptcpOption | Should -BeTrue
        $rule.Verdict | Should -Be 'drop'
        $rule.Arguments[5] | Should -Be 'allow "mptcp" it''s \ back'
        $rule.Position | Should -Be 1
        $parsed.Item1[0].Policy | Should -Be 'accept'
        $parsed.Item1[0].Hook | Should -Be 'output'
    }

    It 'keeps empty quoted arguments and separates on runs of spaces and tabs' {
        [MptcpTools.Host.IptablesSave]::Tokenize("-A  X`t-m comment --comment `"`" -j ACCEPT") | Should -Be @('-A', 'X', '-m', 'comment', '--comment', '', '-j', 'ACCEPT')
    }
}

Describe 'The sysctl file a repair writes' {
    It 'writes through a link, so the link stays one (Debian''s 99-sysctl.conf -> ../sysctl.conf)' {
        $etc = Join-Path $TestDrive 'etc'; New-Item -ItemType Directory -Path "$etc/sysctl.d" -Force | Out-Null
        Set-Content "$etc/sysctl.conf" "# admin`nnet.mptcp.enabled = 0`nvm.swappiness = 10"
        New-Item -ItemType SymbolicLink -Path "$etc/sysctl.d/99-sysctl.conf" -Target "$etc/sysctl.conf" | Out-Null
        [MptcpTools.Host.SysctlPersistence]::WriteAssignment("$etc/sysctl.d/99-sysctl.conf", 'net.mptcp.enabled', '1', '# x') | Should -Match 'net.mptcp.enabled = 0'
        (Get-Item "$etc/sysctl.d/99-sysctl.conf").LinkTarget | Should -Not -BeNullOrEmpty
        Get-Content "$etc/sysctl.conf" | Should -Be @('# admin', 'vm.swappiness = 10', 'net.mptcp.enabled = 1')
    }

    It 'is read at boot only in the directories systemd-sysctl reads' {
        [MptcpTools.Host.SysctlPersistence]::IsReadAtBoot('/etc/sysctl.d/90-mptcp.conf') | Should -BeTrue
        [MptcpTools.Host.SysctlPersistence]::IsReadAtBoot('/etc/sysctl.conf') | Should -BeTrue
        [MptcpTools.Host.SysctlPersistence]::IsReadAtBoot('/tmp/90-mptcp.conf') | Should -BeFalse
        [MptcpTools.Host.SysctlPersistence]::IsReadAtBoot('/etc/sysctl.d/90-mptcp.txt') | Should -BeFalse
    }
}
