# Makes docs/two-paths-slowed.png, the chart the README shows: a 60 MB transfer in the lab over two paths, the second
# slowed from 100 to 10 Mbit/s halfway (tc tbf: this project's kernels need not have netem), captured at the client,
# measured and charted by the module.
#   dotnet pwsh ./build.ps1 -Task Test   (once, for the lab peer)   then, as root:  dotnet pwsh ./docs/New-ChartExample.ps1
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
Import-Module (Join-Path $root 'output/MptcpTools') -Force
$lab = New-MptcpLab
$capture = Join-Path ([IO.Path]::GetTempPath()) "$($lab.Id)-chart.pcap"
try {
    Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    foreach ($dev in 'c0', 'c1') { Invoke-InNamespace $lab.Client tc 'qdisc', 'add', 'dev', $dev, 'root', 'tbf', 'rate', '100mbit', 'burst', '64kb', 'latency', '100ms' | Out-Null }
    $dump = Start-LabProcess $lab $lab.Client tcpdump '-i', 'any', '-s', '160', '-B', '65536', '-U', '-w', $capture, 'tcp port 5201'
    Start-Sleep -Seconds 1.5
    $send = Start-LabProcess $lab $lab.Client (Get-LabPeerPath) 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '60000000', '--hold', '1'
    Start-Sleep -Seconds 1.6
    Invoke-InNamespace $lab.Client tc 'qdisc', 'replace', 'dev', 'c1', 'root', 'tbf', 'rate', '10mbit', 'burst', '64kb', 'latency', '100ms' | Out-Null
    [void]$send.WaitForExit(60000)
    Start-Sleep -Seconds 1
    & kill -INT $dump.Id; [void]$dump.WaitForExit(10000)
    Measure-MptcpCapture -LiteralPath $capture | Export-MptcpChart -Path (Join-Path $PSScriptRoot 'two-paths-slowed.png') -Width 1200 -Height 800 -PassThru
}
finally {
    Remove-MptcpLab $lab
    Remove-Item $capture -ErrorAction Ignore
}
