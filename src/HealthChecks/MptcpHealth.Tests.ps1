# MPTCP health checks for a host, as a Pester 5 checklist. Shipped with the MptcpTools module, which it imports
# from the folder it was shipped in (or from -ModulePath). Pester 5 is not part of PowerShell 7: install it once.
#
#   Install-PSResource -Name Pester -Version '[5.0,6.0)' -Scope CurrentUser   # once; or Install-Module Pester
#   Import-Module Pester -MinimumVersion 5.0
#   $suite = Join-Path (Split-Path (Get-Module MptcpTools -ListAvailable)[0].Path) 'HealthChecks/MptcpHealth.Tests.ps1'
#   Invoke-Pester -Container (New-PesterContainer -Path $suite -Data @{ ExpectedEndpoints = @('198.51.100.2'); Peer = '203.0.113.2'; Port = 5201; Application = 'iperf3' })
#
# (With the module imported by path, take its folder from Get-Module MptcpTools instead of -ListAvailable.)
# Every parameter is optional: the checks that need one are skipped without it.
param(
    # Addresses that must be MPTCP subflow or signal endpoints.
    [string[]] $ExpectedEndpoints = @(),
    # A peer that must negotiate MPTCP, and its port.
    [string] $Peer,
    [int] $Port,
    # A program (process name) that must use MPTCP sockets while it runs.
    [string] $Application,
    # Another MptcpTools to check with; by default the one this suite was shipped with.
    [string] $ModulePath,
    # The D-Bus of systemd and NetworkManager, when it is not the system bus.
    [string] $BusAddress
)

BeforeAll {
    # The module this suite was shipped in is the folder above it: no PSModulePath needed.
    Import-Module $(if ($ModulePath) { $ModulePath } else { Split-Path $PSScriptRoot -Parent }) -ErrorAction Stop
    $diagnosis = @{ IncludePassed = $true }
    if ($BusAddress) { $diagnosis.BusAddress = $BusAddress }
    $findings = @(Invoke-MptcpDiagnosis @diagnosis)
    # A check that could not run must not pass as healthy: its component's items fail with the reason.
    # Component is the finding's own enum (Kernel, Sysctl, PathManager, Daemon, Firewall, Routing, ...).
    function Get-Finding([string] $Id, [string] $Component) {
        $hits = @($findings | Where-Object { $_.Id -eq $Id -and "$($_.Severity)" -ne 'Passed' } | ForEach-Object { "$($_.Id): $($_.Summary)" })
        $hits + @($findings | Where-Object { $_.Id -eq 'CheckUnavailable' -and "$($_.Component)" -eq $Component } |
                ForEach-Object { "$Id could not be checked ($($_.Summary)): $($_.Detail)" })
    }
}

Describe 'MPTCP on this host' {
    It 'the kernel has MPTCP' {
        Get-Finding MptcpUnsupported Kernel | Should -BeNullOrEmpty
    }

    It 'MPTCP is enabled and persistent' {
        (Get-MptcpKernelState).Enabled | Should -BeTrue
        Get-Finding SysctlNotPersistent Kernel | Should -BeNullOrEmpty
        Get-Finding ObsoleteSysctlKey Kernel | Should -BeNullOrEmpty
    }

    It 'connections may open extra subflows' {
        Get-Finding SubflowLimitZero PathManager | Should -BeNullOrEmpty
        Get-Finding NoSubflowEndpoints PathManager | Should -BeNullOrEmpty
    }

    It 'the expected endpoints exist: <_>' -ForEach $ExpectedEndpoints {
        Get-MptcpEndpoint -Address $_ | Should -Not -BeNullOrEmpty -Because "$_ must be an MPTCP endpoint"
    }

    It 'every endpoint''s address is present and routed out of its own interface' {
        Get-Finding EndpointAddressMissing Routing | Should -BeNullOrEmpty
        Get-Finding MissingSourceRoute Routing | Should -BeNullOrEmpty
    }

    It 'no firewall rule drops or strips MPTCP options' {
        Get-Finding FirewallDropsMptcpOption Firewall | Should -BeNullOrEmpty
        Get-Finding FirewallStripsMptcpOption Firewall | Should -BeNullOrEmpty
    }

    It 'every check of the diagnosis could run' {
        @($findings | Where-Object { $_.Id -eq 'DiagnosisIncomplete' -and "$($_.Severity)" -ne 'Passed' } | ForEach-Object { "$($_.Summary) $($_.Remediation)" }) |
            Should -BeNullOrEmpty
    }

    It 'mptcpd and the kernel agree' {
        Get-Finding UserspacePmWithoutDaemon Daemon | Should -BeNullOrEmpty
        Get-Finding DaemonPluginMissing Daemon | Should -BeNullOrEmpty
    }
}

Describe 'The peer' -Skip:(-not $Peer -or -not $Port) {
    It 'the peer negotiates MPTCP' {
        $result = Test-MptcpConnectivity -ComputerName $Peer -Port $Port -Duration 1
        $result.MptcpNegotiated | Should -BeTrue -Because $result.Detail
    }

    It 'a second subflow comes up to the peer' {
        # Two seconds: the join follows the handshake by a round trip or two, and a loaded host or a long path adds to it.
        $result = Test-MptcpConnectivity -ComputerName $Peer -Port $Port -Duration 2
        $result.SubflowCount | Should -BeGreaterThan 1 -Because $result.Detail
    }
}

Describe 'The application' -Skip:(-not $Application) {
    It '<Application> uses MPTCP sockets' -TestCases @(@{ Application = $Application }) {
        $reports = @(Test-MptcpApplication -Name $Application -ErrorAction Stop)
        foreach ($r in $reports) { $r.UsesMptcp | Should -BeTrue -Because "$($r.Verdict) $($r.Remediation)" }
    }
}
