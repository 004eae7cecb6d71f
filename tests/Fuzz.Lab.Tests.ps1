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
