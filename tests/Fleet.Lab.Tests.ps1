# Invoke-MptcpDiagnosis -HostName and -Session: hosts reached over SSH (a real sshd in each lab namespace, pwsh as its
# subsystem), diagnosed at once; each host's findings tagged with it and equal to what the host says of itself; a host
# that cannot be reached, or lacks the module, a finding about that host; findings written as they arrive; the throttle
# honoured; and stopping the command (Ctrl+C) ends every SSH connection it opened.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-fleet"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $noBus = "unix:path=$work/no-bus"
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'Invoke-MptcpDiagnosis -HostName over SSH, from the client namespace' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $a = $lab.Addresses
        # The server: healthy but for its subflow limit. The router: one sshd without the module, one whose pwsh starts 6 s late.
        Invoke-InNamespace $lab.Server ip 'mptcp', 'limits', 'set', 'subflows', '0', 'add_addr_accepted', '2' | Out-Null
        $server = Start-LabSshd $lab $lab.Server $a.ServerAddress
        $bare = Start-LabSshd $lab $lab.Router $a.RouterPath1 -WithoutModule
        $slow = Start-LabSshd $lab $lab.Router $a.RouterPath2 -SubsystemDelay 6
        $down = '192.0.2.77'   # on the client's link, and nobody has it
        $refused = "$($a.ServerAddress):2"   # the server, where nothing listens on port 2
        $p = $server.SessionParameters
        $r = Invoke-LabCmdlet $lab.Client {
            param($p, $hosts, $bus)
            $start = [DateTime]::UtcNow
            Invoke-MptcpDiagnosis -HostName $hosts -UserName root -KeyFilePath $p.KeyFilePath -Options $p.Options -ConnectingTimeout 20 -BusAddress $bus -IncludePassed |
                ForEach-Object {
                    [pscustomobject]@{
                        At = ([DateTime]::UtcNow - $start).TotalSeconds; Id = $_.Id; Severity = "$($_.Severity)"; Summary = $_.Summary
                        ComputerName = $_.ComputerName; PSComputerName = $_.PSComputerName; Type = $_.GetType().FullName
                        HostIds = @($_.Repair | ForEach-Object HostId); Evidence = @($_.Evidence | ForEach-Object { "$_" })
                        ModulePath = @($_.Evidence | ForEach-Object { $_.ModulePath }); Detail = $_.Detail
                    }
                }
            [pscustomobject]@{ Ended = ([DateTime]::UtcNow - $start).TotalSeconds; ClientHost = [MptcpTools.Kernel.HostIdentity]::Read().Id }
        } -ArgumentList $p, @($a.ServerAddress, $a.RouterPath1, $a.RouterPath2, $down, $refused), $noBus
        $found = @($r.Output | Where-Object { $_.PSObject.Properties['Id'] })
        $ended = ($r.Output | Where-Object { $_.PSObject.Properties['Ended'] }).Ended
        $clientHost = ($r.Output | Where-Object { $_.PSObject.Properties['Ended'] }).ClientHost
        $own = Invoke-LabCmdlet $lab.Server { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus -IncludePassed | ForEach-Object { "$($_.Severity) $($_.Id) $($_.Summary)" } } -ArgumentList $noBus
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'writes no error and no terminating failure: every host answers with findings' {
        $r.Errors | Should -BeNullOrEmpty
        @($found | Select-Object -ExpandProperty ComputerName -Unique | Sort-Object) | Should -Be @($a.RouterPath1, $a.RouterPath2, $down, $refused, $a.ServerAddress | Sort-Object)
    }

    It 'gives each reachable host''s findings as that host gives them itself, typed and tagged with the host' {
        $there = @($found | Where-Object ComputerName -eq $a.ServerAddress)
        @($there | ForEach-Object { "$($_.Severity) $($_.Id) $($_.Summary)" }) | Should -Be @($own.Output)
        @($there | Where-Object Id -eq 'SubflowLimitZero').Count | Should -Be 1
        $there.Type | Sort-Object -Unique | Should -Be 'MptcpTools.Diagnosis.MptcpFinding'
        $there.PSComputerName | Sort-Object -Unique | Should -Be $a.ServerAddress
    }

    It 'keeps each repair record bound to the host it came from' {
        $limit = $found | Where-Object { $_.ComputerName -eq $a.ServerAddress -and $_.Id -eq 'SubflowLimitZero' }
        $limit.HostIds | Should -Not -BeNullOrEmpty
        $limit.HostIds[0] | Should -Not -Be $clientHost
    }

    It 'names the host without the module: ModuleMissingOnHost, with its module path' {
        $m = @($found | Where-Object ComputerName -eq $a.RouterPath1)
        $m.Count | Should -Be 1
        $m[0].Id | Should -Be 'ModuleMissingOnHost'
        $m[0].Severity | Should -Be 'Error'
        $m[0].PSComputerName | Should -Be $a.RouterPath1
        $m[0].ModulePath | Should -Match 'powershell'
        $m[0].ModulePath | Should -Not -Match ([regex]::Escape("$($lab.Id)-ssh"))
    }

    It 'names the host that cannot be reached: HostUnreachable' {
        $u = @($found | Where-Object ComputerName -eq $down)
        $u.Count | Should -Be 1
        $u[0].Id | Should -Be 'HostUnreachable'
        $u[0].Summary | Should -Match 'SSH'
    }

    It 'names the host where nothing listens on the SSH port: HostUnreachable, found before ssh starts' {
        $u = @($found | Where-Object ComputerName -eq $refused)
        $u.Count | Should -Be 1
        $u[0].Id | Should -Be 'HostUnreachable'
        $u[0].Detail | Should -Match "nothing answers SSH on $([regex]::Escape($a.ServerAddress)) .*port 2: Connection refused"
    }

    It 'diagnoses the slow host too, and writes the others'' findings while it still starts' {
        $slowOnes = @($found | Where-Object ComputerName -eq $a.RouterPath2)
        $slowOnes.Count | Should -BeGreaterThan 0
        @($slowOnes | Where-Object Id -in 'HostUnreachable', 'ModuleMissingOnHost') | Should -BeNullOrEmpty
        $firstServer = ($found | Where-Object ComputerName -eq $a.ServerAddress | Measure-Object At -Minimum).Minimum
        $firstSlow = ($slowOnes | Measure-Object At -Minimum).Minimum
        $firstSlow - $firstServer | Should -BeGreaterThan 3 -Because 'the server''s findings are written when they arrive, not when the slow host is done'
        $ended - $firstServer | Should -BeGreaterThan 3
    }
}

Describe 'Invoke-MptcpDiagnosis -Session, -ThrottleLimit, and stopping' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $a = $lab.Addresses
        $server = Start-LabSshd $lab $lab.Server $a.ServerAddress
        $slow = Start-LabSshd $lab $lab.Router $a.RouterPath2 -SubsystemDelay 4
        $p = $server.SessionParameters
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'diagnoses the hosts of open sessions and leaves the sessions open' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($p, $bus)
            $s = New-PSSession @p
            $f = @(Invoke-MptcpDiagnosis -Session $s -BusAddress $bus -IncludePassed)
            [pscustomobject]@{ Count = $f.Count; Names = @($f.ComputerName | Sort-Object -Unique); State = "$($s.State)"; Availability = "$($s.Availability)" }
            $viaPipeline = @($s | Invoke-MptcpDiagnosis -BusAddress $bus -IncludePassed)
            [pscustomobject]@{ Count = $viaPipeline.Count }
            Remove-PSSession $s
        } -ArgumentList $p, $noBus
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].Count | Should -BeGreaterThan 5
        $r.Output[0].Names | Should -Be $a.ServerAddress
        $r.Output[0].State | Should -Be 'Opened'
        $r.Output[0].Availability | Should -Be 'Available'
        $r.Output[1].Count | Should -Be $r.Output[0].Count
    }

    It 'takes -Interface as names of the remote host: the server''s s0, which the client does not have, and refuses one the server lacks there' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($p, $bus)
            $s = New-PSSession @p
            try {
                try { Invoke-MptcpDiagnosis -BusAddress $bus -Interface s0 -ErrorAction Stop | Out-Null } catch { $local = @($_) }
                [pscustomobject]@{ LocalError = "$($local[0].FullyQualifiedErrorId)" }
                $f = @(Invoke-MptcpDiagnosis -Session $s -BusAddress $bus -Interface s0 -ErrorVariable e -ErrorAction SilentlyContinue)
                [pscustomobject]@{ Count = $f.Count; Errors = @($e | ForEach-Object { "$($_.FullyQualifiedErrorId)" }) }
                $g = @(Invoke-MptcpDiagnosis -Session $s -BusAddress $bus -Interface c0 -ErrorVariable e2 -ErrorAction SilentlyContinue)
                [pscustomobject]@{ Ids = @($g.Id); Errors = @($e2 | ForEach-Object { "$($_.FullyQualifiedErrorId)" }); Targets = @($e2 | ForEach-Object { "$($_.TargetObject)" })
                    Quiet = Invoke-MptcpDiagnosis -Session $s -BusAddress $bus -Interface c0 -Quiet -ErrorAction SilentlyContinue }
            }
            finally { Remove-PSSession $s }
        } -ArgumentList $p, $noBus
        $r.Output[0].LocalError | Should -BeLike 'InterfaceNotFound,*' -Because 'the client has no s0'
        $r.Output[1].Errors | Should -BeNullOrEmpty
        $r.Output[1].Count | Should -BeGreaterThan 0
        # c0 is the client's, not the server's: the server refuses it with its own error, not as a missing module.
        $r.Output[2].Ids | Should -Not -Contain 'ModuleMissingOnHost'
        $r.Output[2].Errors | Should -Be @('InterfaceNotFound,MptcpTools.Commands.InvokeMptcpDiagnosisCommand')
        $r.Output[2].Targets | Should -Be @('c0')
        $r.Output[2].Quiet | Should -BeFalse -Because 'a host whose diagnosis did not run is not healthy'
        $r.Output.Count | Should -Be 3
    }

    It 'honours -ThrottleLimit: one at a time, the second host starts when the first is done' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($p, $hosts, $bus)
            $start = [DateTime]::UtcNow
            Invoke-MptcpDiagnosis -HostName $hosts -UserName root -KeyFilePath $p.KeyFilePath -Options $p.Options -BusAddress $bus -ThrottleLimit 1 -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*: connecting*' } |
                ForEach-Object { [pscustomobject]@{ At = ([DateTime]::UtcNow - $start).TotalSeconds; Message = $_.Message } }
        } -ArgumentList $p, @($a.RouterPath2, $a.ServerAddress), $noBus
        $r.Errors | Should -BeNullOrEmpty
        $connecting = @($r.Output)
        $connecting.Count | Should -Be 2
        $connecting[0].Message | Should -BeLike "$($a.RouterPath2):*"
        $connecting[1].At - $connecting[0].At | Should -BeGreaterThan 3.5 -Because 'the slow host takes 4 s to start, and only one host runs at a time'
    }

    It 'stops every host when stopped (Ctrl+C), and ends every SSH connection it opened' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($p, $hosts, $bus)
            # The connections' ssh, not the short ssh -G each host's check before it runs.
            function Get-SshChildren {
                @(Get-Process ssh -ErrorAction Ignore | Where-Object { $_.Parent.Id -eq $PID -and '-G' -notin ((Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction Ignore) -split "`0") })
            }
            $ps = [powershell]::Create().AddCommand('Import-Module').AddParameter('Name', (Get-Module MptcpTools).ModuleBase).AddStatement().AddCommand('Invoke-MptcpDiagnosis').AddParameter('HostName', $hosts).AddParameter('UserName', 'root').
                AddParameter('KeyFilePath', $p.KeyFilePath).AddParameter('Options', $p.Options).AddParameter('BusAddress', $bus).AddParameter('CaptureSeconds', 60)
            $running = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ((Get-SshChildren).Count -lt 2 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            $before = (Get-SshChildren).Count
            Start-Sleep 1
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $stoppedIn = $clock.Elapsed.TotalSeconds
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while ((Get-SshChildren).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            [pscustomobject]@{ Before = $before; After = (Get-SshChildren).Count; StoppedIn = $stoppedIn; State = "$($ps.InvocationStateInfo.State)" }
        } -ArgumentList $p, @($a.ServerAddress, $a.RouterPath2), $noBus
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].Before | Should -Be 2
        $r.Output[0].State | Should -Be 'Stopped'
        $r.Output[0].StoppedIn | Should -BeLessThan 20
        $r.Output[0].After | Should -Be 0
        # And the server's side of it: no pwsh subsystem left running in its namespace.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        function Get-Subsystems { @(Invoke-LabNative ip 'netns', 'pids', $lab.Server -AllowFailure | Where-Object { "$_" -match '^\d+$' -and (Get-Content "/proc/$_/cmdline" -Raw -ErrorAction Ignore) -match '-sshs' }) }
        do { $left = Get-Subsystems; if ($left.Count) { Start-Sleep -Milliseconds 200 } } while ($left.Count -and [DateTime]::UtcNow -lt $deadline)
        $left.Count | Should -Be 0
    }
}
