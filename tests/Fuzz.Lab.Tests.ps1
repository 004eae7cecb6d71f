# The parameter half of the fuzz harness (issue 16): tests/Fuzz/Invoke-ParameterFuzz.ps1 calls every exported cmdlet
# with hostile values of each parameter, in a lab namespace (so endpoints, limits, sysctls, probes and captures touch
# only the lab) with /etc/sysctl.d, /etc/mptcpd and /run/dbus bound over with empty folders (so no repair reaches the
# host's files or daemons): once as root, once with every capability dropped (as an unprivileged user would run it).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path

    # Runs the parameter fuzzer in the client namespace; returns its events.
    function Invoke-ParameterFuzz($Lab, [string] $Name, [string[]] $DropCapability = @()) {
        $work = Join-Path ([IO.Path]::GetTempPath()) "$($Lab.Id)-fuzz-$Name"
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        # Unprivileged runs must be able to write there too.
        & chmod 0777 $work
        $binds = @{}
        foreach ($target in '/etc/sysctl.d', '/etc/mptcpd', '/run/dbus') {
            if (Test-Path $target) {
                $empty = Join-Path $work ("bind" + ($target -replace '/', '-'))
                New-Item -ItemType Directory -Path $empty -Force | Out-Null
                $binds[$target] = $empty
            }
        }
        $events = Join-Path $work 'events.jsonl'
        $r = Invoke-LabCmdlet $Lab.Client {
            param($Script, $Module, $About, $Out, $Work, $Capture)
            & $Script -ModulePath $Module -AboutPath $About -OutFile $Out -WorkDir $Work -CapturePath $Capture
        } -ArgumentList (Join-Path $PSScriptRoot 'Fuzz/Invoke-ParameterFuzz.ps1'), (Get-LabModulePath), (Join-Path $root 'en-US/about_MptcpTools.help.txt'),
            $events, $work, (Join-Path $PSScriptRoot 'Fuzz/corpus/link-1.pcap') -BindMount $binds -DropCapability $DropCapability
        $lines = @(if (Test-Path $events) { Get-Content $events | ForEach-Object { $_ | ConvertFrom-Json } })
        Remove-Item $work -Recurse -Force -ErrorAction Ignore
        [pscustomobject]@{ Events = $lines; Errors = $r.Errors; Done = $lines | Where-Object event -eq 'done' | Select-Object -Last 1
            Failures = @($lines | Where-Object event -in 'failure', 'hang') }
    }

    function Format-Failures($Failures) {
        ($Failures | Select-Object -First 15 | ForEach-Object { "$($_.event) $($_.call): $($_.why) at $(@($_.stack)[0..1] -join ' / ')" }) -join "`n"
    }
}

Describe 'Fuzzing the parameters of every cmdlet' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $asRoot = Invoke-ParameterFuzz $lab 'root'
        $unprivileged = Invoke-ParameterFuzz $lab 'nocaps' -DropCapability 'all'
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'ran every cmdlet of the module, to the end' {
        $asRoot.Errors | Should -BeNullOrEmpty
        $asRoot.Done | Should -Not -BeNullOrEmpty
        $asRoot.Done.cmdlets | Should -Be @(Get-Command -Module MptcpTools -CommandType Cmdlet).Count
        $asRoot.Done.calls | Should -BeGreaterThan 900
        $unprivileged.Done | Should -Not -BeNullOrEmpty
    }

    It 'lets nothing but ErrorRecords with documented ids out, and stops every call, as root' {
        $asRoot.Failures.Count | Should -Be 0 -Because (Format-Failures $asRoot.Failures)
    }

    It 'lets nothing but ErrorRecords with documented ids out, and stops every call, without capabilities' {
        $unprivileged.Failures.Count | Should -Be 0 -Because (Format-Failures $unprivileged.Failures)
        # Without CAP_NET_ADMIN the changes are refused with their id, which shows the calls got that far.
        $unprivileged.Done.errorIds.PermissionDenied | Should -BeGreaterThan 0
    }
}

Describe 'Owners that cannot be seen are said, not left empty in silence (item 11)' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        # A connection of root's, held open; listed by nobody, who cannot read root's descriptors.
        $sender = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '1000', '--hold', '120'
        $pwshCommand = Get-PwshCommand
        $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
        function Get-ConnectionsAs([string[]] $Identity) {
            $script = "`$env:HOME = '/tmp'; Import-Module '$(Get-LabModulePath)'; " +
                "`$c = @(Get-MptcpConnection -RemotePort 5201 -WarningVariable w 3>`$null); " +
                "[pscustomobject]@{ Count = `$c.Count; Owned = @(`$c | Where-Object ProcessId -eq $($sender.Pid)).Count; Warnings = @(`$w | ForEach-Object { `"`$_`" }) } | ConvertTo-Json -Compress"
            $out = & ip netns exec $lab.Client @Identity $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script 2>&1
            ($out | Where-Object { "$_".StartsWith('{') } | Select-Object -Last 1) | ConvertFrom-Json
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'as root: the owner is there, and no warning' {
        $r = Get-ConnectionsAs @()
        $r.Count | Should -BeGreaterThan 0
        $r.Owned | Should -Be $r.Count
        @($r.Warnings).Count | Should -Be 0
    }

    It 'as nobody: the connection without owner, and one warning that says why' {
        # CAP_DAC_READ_SEARCH only so that nobody can load pwsh where the SDK keeps it (under /root); it does not open
        # other users' /proc/PID/fd, which takes CAP_SYS_PTRACE.
        $r = Get-ConnectionsAs @('env', 'HOME=/tmp', 'DOTNET_CLI_HOME=/tmp', 'setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups',
            '--inh-caps=+dac_read_search', '--ambient-caps=+dac_read_search')
        $r.Count | Should -BeGreaterThan 0
        $r.Owned | Should -Be 0
        @($r.Warnings).Count | Should -Be 1
        $r.Warnings[0] | Should -Match 'no owner.*CAP_SYS_PTRACE'
    }
}
