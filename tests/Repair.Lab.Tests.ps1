# Repairs as data, against the real kernel: firewall rules whose comments have spaces and quotes are found
# and deleted through their records, and put back with the Undo the result gives; findings that went
# through Export-Clixml repair alike; forged records change nothing; irreversible changes ask for
# confirmation; facts gathered in a namespace are judged elsewhere with the same result.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    Import-Module (Get-LabModulePath) -Force   # the judging side of the facts test runs here
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-repair"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $noBus = "unix:path=$work/no-bus"
    $comment = 'allow "mptcp" it''s on'
    function Get-NftRules([string] $Namespace) { @(Invoke-InNamespace $Namespace nft '-a', 'list', 'table', 'inet', 'mptl' -AllowFailure) -join "`n" }
    function Get-IptablesRules([string] $Namespace) { @(Invoke-InNamespace $Namespace iptables-nft-save) | Where-Object { $_ -like '-A *' } }
    # An nft rule that drops option 30 and an iptables one that drops it too, both with a comment of spaces and quotes.
    function Add-CommentedRules($Lab) {
        Add-LabNftRules $Lab.Client "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  ct state invalid drop comment `"keep first`"`n  tcp option mptcp exists drop comment `"no mptcp, it's a test`"`n  udp dport 9 drop`n }`n}"
        # A second drop right after the first, with a comment nft lists but cannot read back (nft -j takes it).
        $json = '{"nftables":[{"insert":{"rule":{"family":"inet","table":"mptl","chain":"output_filter","index":2,"comment":"he said \"no\"","expr":[{"match":{"op":"==","left":{"tcp option":{"name":"mptcp"}},"right":true}},{"drop":null}]}}}]}'
        $f = Join-Path $work "$([guid]::NewGuid().ToString('n')).json"; Set-Content $f $json
        Invoke-InNamespace $Lab.Client nft '-j', '-f', $f | Out-Null
        Invoke-InNamespace $Lab.Client iptables '-A', 'OUTPUT', '-p', 'tcp', '-d', '203.0.113.2/32', '-j', 'ACCEPT' | Out-Null
        Invoke-InNamespace $Lab.Client iptables '-A', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', $comment, '-m', 'tcp', '--tcp-option', '30', '-j', 'DROP' | Out-Null
        Invoke-InNamespace $Lab.Client iptables '-A', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', 'second one', '-m', 'tcp', '--tcp-option', '30', '-j', 'REJECT' | Out-Null
        Invoke-InNamespace $Lab.Client iptables '-A', 'OUTPUT', '-p', 'udp', '-j', 'ACCEPT' | Out-Null
    }
    # The What if lines of a command run in a fresh, non-interactive pwsh in the namespace (they go to the host, not to a stream).
    function Get-WhatIf([string] $Namespace, [string] $Command) {
        $exe = [Environment]::ProcessPath
        [string[]] $pre = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $script = "Import-Module '$(Get-LabModulePath)'; $Command"
        @(& ip netns exec $Namespace $exe @pre -NoProfile -NonInteractive -Command $script 2>&1) | ForEach-Object { "$_" } | Where-Object { $_ -like 'What if:*' }
    }
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'Firewall rules with commented text, deleted through their records and put back with Undo' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Add-CommentedRules $lab
        $before = @{ Nft = (Get-NftRules $lab.Client); Iptables = @(Get-IptablesRules $lab.Client) }
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Force -Confirm:$false } -ArgumentList $noBus
        $deleted = @($r.Output | Where-Object Action -eq 'Delete firewall rule')
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'finds them all and deletes them all, and only them' {
        $r.Errors | Should -BeNullOrEmpty
        $deleted.Count | Should -Be 4
        $deleted.Applied | Should -Be @($true, $true, $true, $true)
        $nft = Get-NftRules $lab.Client
        $nft | Should -Not -Match 'tcp option mptcp exists drop'
        $nft | Should -Match 'ct state invalid drop comment "keep first"'
        $nft | Should -Match 'udp dport 9 drop'
        @(Get-IptablesRules $lab.Client) | Should -Be @('-A OUTPUT -d 203.0.113.2/32 -p tcp -j ACCEPT', '-A OUTPUT -p udp -j ACCEPT')
    }

    It 'says what it deleted, with the commands that did it and that undo it' {
        $n = @($deleted | Where-Object { $_.Repair.Kind -eq 'DeleteNftablesRule' })[0]
        $n.Before | Should -Be 'tcp option mptcp exists drop comment "no mptcp, it''s a test"'
        $n.After | Should -Be 'deleted'
        $n.Command | Should -Match '^nft delete rule inet mptl output_filter handle \d+$'
        $n.Undo | Should -BeLike 'echo *"insert":{"rule":{"family":"inet","table":"mptl","chain":"output_filter","comment":"no mptcp, it*s a test"*"index":1}* | nft -j -f -'
        $i = @($deleted | Where-Object { $_.Repair.Kind -eq 'DeleteIptablesRule' })[0]
        $i.Before | Should -BeLike '*--comment "allow \"mptcp\" it\''s on"*'
        $i.Repair.Arguments | Should -Contain $comment
        $i.Undo | Should -BeLike 'iptables-nft -t filter -I OUTPUT 2 *'
    }

    It 'puts them all back, in their places, when the Undo commands are run in the order they came' {
        foreach ($undo in $deleted.Undo) { Invoke-InNamespace $lab.Client sh '-c', $undo | Out-Null }
        # Handles change; the rules, their order and their comments do not.
        ((Get-NftRules $lab.Client) -replace '# handle \d+', '') | Should -Be ($before.Nft -replace '# handle \d+', '')
        @(Get-IptablesRules $lab.Client) | Should -Be $before.Iptables
    }
}

Describe 'Findings read back from Export-Clixml' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=0' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0', 'add_addr_accepted', '0' | Out-Null
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.c1.rp_filter=1' | Out-Null
        Add-CommentedRules $lab
        $xml = Join-Path $work "findings-$PID.xml"
        $file = Join-Path $work "clixml-$PID.conf"
        Invoke-LabCmdlet $lab.Client { param($bus, $xml) Invoke-MptcpDiagnosis -BusAddress $bus | Export-Clixml -LiteralPath $xml } -ArgumentList $noBus, $xml | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab; Remove-Item $xml, $file -ErrorAction Ignore }

    It 'list the same changes under -WhatIf as the direct pipeline' {
        $direct = @(Get-WhatIf $lab.Client "Invoke-MptcpDiagnosis -BusAddress '$noBus' | Repair-MptcpConfiguration -Force -SysctlFile '$file' -WhatIf")
        $read = @(Get-WhatIf $lab.Client "Import-Clixml -LiteralPath '$xml' | Repair-MptcpConfiguration -Force -SysctlFile '$file' -WhatIf")
        $direct.Count | Should -Be 7   # sysctl, limits, rp_filter, four firewall rules
        $read | Should -Be $direct
        ($direct -join " ") | Should -Match "nftables rule .tcp option mptcp exists drop comment .no mptcp, it.s a test."
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.mptcp.enabled') | Should -Be '0'
    }

    It 'repair the host they came from' {
        $r = Invoke-LabCmdlet $lab.Client { param($xml, $file) Import-Clixml -LiteralPath $xml | Repair-MptcpConfiguration -Force -SysctlFile $file -Confirm:$false } -ArgumentList $xml, $file
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output | Where-Object Applied).Count | Should -Be 7
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.mptcp.enabled') | Should -Be '1'
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.ipv4.conf.c1.rp_filter') | Should -Be '2'
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'limits') -join ' ' | Should -Match 'subflows 2'
        Get-NftRules $lab.Client | Should -Not -Match 'mptcp exists drop'
        Get-Content $file | Should -Contain 'net.mptcp.enabled = 1'
    }
}

Describe 'Forged findings and records change nothing' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Add-LabNftRules $lab.Client "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  udp dport 9 accept comment `"not mptcp`"`n }`n}"
        $acceptHandle = [int]([regex]::Match((Get-NftRules $lab.Client), 'udp dport 9 accept .*# handle (\d+)').Groups[1].Value)
        $forgedFile = Join-Path $work "forged-$PID.nft"
        Set-Content $forgedFile "table inet forged {`n}"
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'never runs the text of a remediation' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($file)
            [MptcpTools.Diagnosis.MptcpFinding]@{ Id = 'FirewallDropsMptcpOption'; Severity = 'Error'; Component = 'Firewall'; Remediation = "nft -f $file" } |
                Repair-MptcpConfiguration -Force -Confirm:$false
        } -ArgumentList $forgedFile
        $r.Output | Should -BeNullOrEmpty
        (Invoke-InNamespace $lab.Client nft 'list', 'tables') -join ' ' | Should -Not -Match 'forged'
    }

    It 'refuses <Case> with <ErrorId>, and the host is unchanged' -ForEach @(
        @{ Case = 'an nft deletion of a rule that does not touch option 30'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.NftablesRuleRepair]@{ FindingId = 'FirewallDropsMptcpOption'; Family = 'inet'; Table = 'mptl'; Chain = 'output_filter'; Handle = $args[0] } } }
        @{ Case = 'an nft deletion of a handle that does not exist'; ErrorId = 'RepairTargetNotFound'; Record = { [MptcpTools.Diagnosis.NftablesRuleRepair]@{ Family = 'inet'; Table = 'mptl'; Chain = 'output_filter'; Handle = 999 } } }
        @{ Case = 'an nft deletion in a family nft does not have'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.NftablesRuleRepair]@{ Family = 'inet; flush ruleset'; Table = 'mptl'; Chain = 'output_filter'; Handle = 1 } } }
        @{ Case = 'an iptables deletion of a rule that is not there'; ErrorId = 'RepairTargetNotFound'; Record = { [MptcpTools.Diagnosis.IptablesRuleRepair]@{ Source = 'iptables'; Table = 'filter'; Chain = 'OUTPUT'; Arguments = [string[]]@('-p', 'tcp', '-m', 'tcp', '--tcp-option', '30', '-j', 'DROP') } } }
        @{ Case = 'an iptables deletion through another tool'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.IptablesRuleRepair]@{ Source = 'sh'; Table = 'filter'; Chain = 'OUTPUT'; Arguments = [string[]]@('-c', 'nft flush ruleset') } } }
        @{ Case = 'a sysctl other than net.mptcp.enabled'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.SysctlRepair]@{ Name = 'net.ipv4.ip_forward'; Value = '1' } } }
        @{ Case = 'an rp_filter of a path, not an interface'; ErrorId = 'RepairTargetNotFound'; Record = { [MptcpTools.Diagnosis.ReversePathFilterRepair]@{ Interface = '../../../../tmp/x'; Value = 2 } } }
        @{ Case = 'an endpoint for an address the interface does not have'; ErrorId = 'RepairTargetNotFound'; Record = { [MptcpTools.Diagnosis.EndpointRepair]@{ Address = '198.51.100.77'; Interface = 'c1'; Flags = 'Subflow' } } }
        @{ Case = 'a unit that is not mptcpd''s'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.UnitRepair]@{ Unit = 'ssh.service' } } }
        @{ Case = 'an endpoint with flags the diagnosis never proposes'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.EndpointRepair]@{ Address = '198.51.100.2'; Interface = 'c1'; Flags = 'Subflow, Fullmesh' } } }
        @{ Case = 'loosening the loopback interface'; ErrorId = 'RepairTargetNotFound'; Record = { [MptcpTools.Diagnosis.ReversePathFilterRepair]@{ Interface = 'lo'; Value = 2 } } }
        @{ Case = 'a NetworkManager connection named by something other than a UUID'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.NetworkManagerFlagsRepair]@{ Uuid = 'up1; nmcli connection delete up0'; Flags = 0x22 } } }
        @{ Case = 'NetworkManager flags it does not have'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.NetworkManagerFlagsRepair]@{ Uuid = '5c829c64-cfc0-427a-8bc5-efb625c4f037'; Flags = 0x1022 } } }
        @{ Case = 'an mptcpd configuration other than the one its unit reads'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.MptcpdAddressFlagsRepair]@{ File = '/etc/shadow'; Unit = 'mptcp.service'; AddressFlags = 'subflow'; NotifyFlags = 'existing' } } }
        @{ Case = 'mptcpd addr-flags it does not know'; ErrorId = 'RepairRefused'; Record = { [MptcpTools.Diagnosis.MptcpdAddressFlagsRepair]@{ Unit = 'mptcp.service'; AddressFlags = "subflow`nload-plugins=evil"; NotifyFlags = 'existing' } } }
        @{ Case = 'a NetworkManager change where no NetworkManager answers'; ErrorId = 'RepairFailed'; Record = { [MptcpTools.Diagnosis.NetworkManagerFlagsRepair]@{ Uuid = '5c829c64-cfc0-427a-8bc5-efb625c4f037'; Flags = 0x22 } } }
    ) {
        $before = @{ Nft = (Get-NftRules $lab.Client); Forward = (Invoke-InNamespace $lab.Client sysctl '-n', 'net.ipv4.ip_forward'); Endpoints = (Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show') -join ' '; Lo = (Invoke-InNamespace $lab.Client cat '/proc/sys/net/ipv4/conf/lo/rp_filter') }
        $r = Invoke-LabCmdlet $lab.Client {
            param($record, $handle)
            $repair = & ([scriptblock]::Create($record)) $handle
            [pscustomobject]@{ Id = 'Forged'; Repair = @($repair) } | Repair-MptcpConfiguration -Force -Confirm:$false -BusAddress 'unix:path=/nonexistent'
        } -ArgumentList $Record.ToString(), $acceptHandle
        $r.Output | Should -BeNullOrEmpty
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike "$ErrorId,*"
        $r.Errors[0].TargetObject | Should -Not -BeNullOrEmpty
        Get-NftRules $lab.Client | Should -Be $before.Nft
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.ipv4.ip_forward') | Should -Be $before.Forward
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show') -join ' ' | Should -Be $before.Endpoints
        (Invoke-InNamespace $lab.Client cat '/proc/sys/net/ipv4/conf/lo/rp_filter') | Should -Be $before.Lo
    }

    It 'deletes nothing when the ruleset changes between the check and the deletion (a reload while a prompt is open)' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($work)
            $f = Join-Path $work "toctou-$PID.nft"
            Set-Content $f "table inet tt {`n chain o {`n  type filter hook output priority 0;`n  tcp option mptcp exists drop comment `"bad`"`n }`n}"
            & nft -f $f
            $handle = [int]([regex]::Match((& nft -a list table inet tt) -join "`n", 'mptcp exists drop .*# handle (\d+)').Groups[1].Value)
            $engine = [MptcpTools.Diagnosis.RepairEngine]::new('/nonexistent/90-mptcp.conf', $null)
            $plan = $engine.Prepare([MptcpTools.Diagnosis.NftablesRuleRepair]@{ Family = 'inet'; Table = 'tt'; Chain = 'o'; Handle = $handle })
            # The reload: the same handle now names an accept rule that must stay.
            Set-Content $f "delete table inet tt`ntable inet tt {`n chain o {`n  type filter hook output priority 0;`n  tcp dport 22 accept comment `"keep ssh`"`n  tcp option mptcp exists drop comment `"bad`"`n }`n}"
            & nft -f $f
            try { $plan.Apply() } catch { $_.Exception.InnerException.GetType().Name; $_.Exception.InnerException.Message }
            (& nft list table inet tt) -join "`n"
        } -ArgumentList $work
        $r.Output[0] | Should -Be 'RepairFailedException'
        $r.Output[1] | Should -Match 'changed after it was checked'
        $r.Output[2] | Should -Match 'tcp dport 22 accept comment "keep ssh"'
        $r.Output[2] | Should -Match 'tcp option mptcp exists drop'
    }

    It 'refuses a deserialized record edited to run another command, as a binding error of that input only' {
        $r = Invoke-LabCmdlet $lab.Client {
            $bad = [pscustomobject]@{ Id = 'X'; Repair = @([pscustomobject]@{ Kind = 'RunCommand'; Command = 'nft flush ruleset' }) }
            $good = [pscustomobject]@{ Id = 'Y'; Repair = @([pscustomobject]@{ Kind = 'SetLimits'; Subflows = 3; AddAddrAccepted = 2; FindingId = 'SubflowLimitZero' }) }
            $bad, $good | Repair-MptcpConfiguration -Confirm:$false
        }
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].Message | Should -Match 'RunCommand'
        $r.Output.Action | Should -Be 'Set limits'
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'limits') -join ' ' | Should -Match 'subflows 3'
        Get-NftRules $lab.Client | Should -Match 'udp dport 9 accept'
    }
}

Describe 'Irreversible changes ask under the default $ConfirmPreference' -Tag Lab -Skip:$labSkip {
    BeforeEach { $lab = New-MptcpLab }
    AfterEach { Remove-MptcpLab $lab }

    It 'Remove-MptcpEndpoint -All changes nothing in a non-interactive session, and says confirmation was needed' {
        $r = Invoke-LabCmdlet $lab.Client { Remove-MptcpEndpoint -All }
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ConfirmationRequired,*'
        $r.Errors[0].Message | Should -Match 'confirmation'
        $r.Errors[0].RecommendedAction | Should -Match 'Confirm:\$false'
        @(Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show').Count | Should -Be 2
        # A single endpoint is Medium impact: no question; -Confirm:$false lets -All through.
        (Invoke-LabCmdlet $lab.Client { Remove-MptcpEndpoint -Id 1 }).Errors | Should -BeNullOrEmpty
        (Invoke-LabCmdlet $lab.Client { Remove-MptcpEndpoint -All -Confirm:$false }).Errors | Should -BeNullOrEmpty
        @(Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show').Count | Should -Be 0
    }

    It 'takes $ConfirmPreference set in a local scope as PowerShell does' {
        (Invoke-LabCmdlet $lab.Client { & { $ConfirmPreference = 'None'; Remove-MptcpEndpoint -All } }).Errors | Should -BeNullOrEmpty
        @(Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show').Count | Should -Be 0
    }

    It 'changes nothing when standard input is at its end (cron), and says confirmation was needed' {
        $exe = [Environment]::ProcessPath
        [string[]] $pre = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $psi = [Diagnostics.ProcessStartInfo]::new('ip')
        foreach ($a in @('netns', 'exec', $lab.Client, $exe) + $pre + @('-NoProfile', '-Command', "Import-Module '$(Get-LabModulePath)'; Remove-MptcpEndpoint -All; 'after'")) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $p = [Diagnostics.Process]::Start($psi)
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
        $p.WaitForExit(60000) | Should -BeTrue
        "$($out.Result)$($err.Result)" | Should -Match 'needs confirmation'
        $out.Result | Should -Match 'after'
        @(Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show').Count | Should -Be 2
    }

    It 'Repair-MptcpConfiguration -Force keeps a firewall rule it cannot confirm deleting, and applies the safe repairs' {
        Add-LabNftRules $lab.Client "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  tcp option mptcp exists drop`n }`n}"
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Force } -ArgumentList $noBus
        @($r.Errors | Where-Object FullyQualifiedErrorId -like 'ConfirmationRequired,*').Count | Should -Be 1
        Get-NftRules $lab.Client | Should -Match 'tcp option mptcp exists drop'
        ($r.Output | Where-Object Action -eq 'Set limits').Applied | Should -BeTrue
    }
}

Describe 'Findings that travel' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'are repaired whole after a job hands them over ($using:, jobs and remoting serialize them)' {
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client {
            param($bus, $module)
            $findings = Invoke-MptcpDiagnosis -BusAddress $bus
            Start-Job { Import-Module $using:module; $using:findings | Repair-MptcpConfiguration -Confirm:$false } | Receive-Job -Wait -AutoRemoveJob
        } -ArgumentList $noBus, (Get-LabModulePath)
        ($r.Output | Where-Object Action -eq 'Set limits').Applied | Should -BeTrue
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'limits') -join ' ' | Should -Match 'subflows 2'
    }

    It 'say what is not automated: a missing source route is described, not run' {
        Invoke-InNamespace $lab.Client ip 'rule', 'del', 'from', $lab.Addresses.ClientPath2, 'table', '100' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Force -Confirm:$false } -ArgumentList $noBus
        $m = $r.Output | Where-Object FindingId -eq 'MissingSourceRoute'
        $m.Applied | Should -BeFalse
        $m.Action | Should -Be 'None'
        $m.Note | Should -Match 'Not automated'
        $m.Command | Should -Match 'ip rule add from 198.51.100.2'
        (Invoke-InNamespace $lab.Client ip 'rule') -join ' ' | Should -Not -Match '198.51.100.2'
    }
}

Describe 'Facts gathered in a namespace, judged in another process' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'add_addr_accepted', '0' | Out-Null
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.c1.rp_filter=1' | Out-Null
        Add-LabNftRules $lab.Client "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  tcp option mptcp exists drop`n }`n}"
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'gives the same findings as Invoke-MptcpDiagnosis there' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($bus)
            $request = [MptcpTools.Diagnosis.DiagnosisRequest]@{ BusAddress = $bus; Port = 5201 }
            [MptcpTools.Diagnosis.DiagnosisGatherer]::Gather($request).ToJson()
            Invoke-MptcpDiagnosis -BusAddress $bus -Port 5201 -IncludePassed | ForEach-Object { "$($_.Severity) $($_.Id) $($_.Summary)" }
        } -ArgumentList $noBus
        $r.Errors | Should -BeNullOrEmpty
        $facts = [MptcpTools.Diagnosis.HostFacts]::FromJson($r.Output[0])
        $facts.Firewall.Rules.Count | Should -BeGreaterThan 0
        $judged = @([MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($facts) | ForEach-Object { "$($_.Severity) $($_.Id) $($_.Summary)" })
        $there = @($r.Output | Select-Object -Skip 1)
        $judged | Should -Be $there
        $judged | Should -Contain ($there | Where-Object { $_ -like 'Error FirewallDropsMptcpOption*' })
        @($judged | Where-Object { $_ -like 'Warning StrictReversePathFilter*' }).Count | Should -Be 1
    }
}

Describe 'The reverse-path filter of an interface with a dot in its name' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        # Named as a VLAN is (this kernel has no 8021q); the dot is what matters to the sysctl path.
        Invoke-InNamespace $lab.Client ip 'link', 'add', 'c1.100', 'type', 'veth', 'peer', 'name', 'c1p100' | Out-Null
        Invoke-InNamespace $lab.Client ip 'addr', 'add', '198.51.100.100/32', 'dev', 'c1.100' | Out-Null
        Invoke-InNamespace $lab.Client ip 'link', 'set', 'c1.100', 'up' | Out-Null
        Invoke-InNamespace $lab.Client ip 'link', 'set', 'c1p100', 'up' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'add', '198.51.100.100', 'dev', 'c1.100', 'subflow' | Out-Null
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net/ipv4/conf/c1.100/rp_filter=1' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'is found, and loosened through /proc/sys/net/ipv4/conf/c1.100' {
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Where-Object Id -eq StrictReversePathFilter | Repair-MptcpConfiguration -Force -Confirm:$false } -ArgumentList $noBus
        $r.Errors | Should -BeNullOrEmpty
        $r.Output.Target | Should -Be 'net/ipv4/conf/c1.100/rp_filter'
        $r.Output.After | Should -Be '2'
        $r.Output.Command | Should -Be 'sysctl -w net/ipv4/conf/c1.100/rp_filter=2'
        (Invoke-InNamespace $lab.Client cat '/proc/sys/net/ipv4/conf/c1.100/rp_filter') | Should -Be '2'
        (Invoke-InNamespace $lab.Client cat '/proc/sys/net/ipv4/conf/c1/rp_filter') | Should -Be '0'
    }
}
