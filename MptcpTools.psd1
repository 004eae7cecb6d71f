@{
    RootModule             = 'MptcpTools.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '5f0c3a9e-2b7d-4e61-9a55-3c7f1d8e6b42'
    Author                 = 'The MptcpTools developers'
    CompanyName            = 'MptcpTools'
    Copyright              = '(c) The MptcpTools developers. MIT licence.'
    Description            = 'Tells a Linux administrator, with evidence, whether Multipath TCP works on a host, why not, and how to fix it: kernel state, path-manager endpoints and limits, counters, read natively over netlink and /proc.'
    PowerShellVersion      = '7.4'
    # Where Update-Help would look for this module's help; each command's online version (Get-Help -Online) is its
    # page under ProjectUri, and a finding's HelpUri is about_MptcpTools there.
    HelpInfoURI            = 'https://github.com/MptcpTools/MptcpTools/blob/main/en-US/'
    CompatiblePSEditions   = @('Core')
    FormatsToProcess       = @('MptcpTools.format.ps1xml')
    TypesToProcess         = @('MptcpTools.types.ps1xml')
    FunctionsToExport      = @()
    CmdletsToExport        = @(
        'Get-MptcpKernelState'
        'Get-MptcpEndpoint'
        'Add-MptcpEndpoint'
        'Set-MptcpEndpoint'
        'Remove-MptcpEndpoint'
        'Get-MptcpLimit'
        'Set-MptcpLimit'
        'Get-MptcpCounter'
        'Read-MptcpCapture'
        'Measure-MptcpCapture'
        'Compare-MptcpCapture'
        'Export-MptcpChart'
        'Watch-MptcpPackets'
        'Get-MptcpConnection'
        'Test-MptcpApplication'
        'Test-MptcpConnectivity'
        'Watch-MptcpEvent'
        'Get-MptcpDaemonStatus'
        'Get-MptcpNetworkManagerSetting'
        'Test-MptcpFirewall'
        'Test-MptcpRouting'
        'Invoke-MptcpDiagnosis'
        'Repair-MptcpConfiguration'
    )
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('MPTCP', 'Multipath', 'TCP', 'Linux', 'Networking', 'Netlink', 'Diagnostics')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ProjectUri   = 'https://github.com/MptcpTools/MptcpTools'
            ReleaseNotes = @'
0.1.0: the first release. Kernel state, endpoints, limits and counters read natively over netlink and /proc;
captures decoded (pcap, pcapng, live); connections with their subflows and owners; the application, peer,
firewall, routing, mptcpd and NetworkManager checks; Invoke-MptcpDiagnosis with stable finding ids, each with
its repair as data, applied by Repair-MptcpConfiguration; a Pester health-check suite.
'@
        }
    }
}
