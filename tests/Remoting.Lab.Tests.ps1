# Objects that survive remoting: every cmdlet's output, made on one side of a real boundary (a job, and an SSH
# session to a real sshd in another lab namespace), arrives whole on the other: Get-ObjectPrint of the live objects
# (taken where they were made) equals Get-ObjectPrint of what arrived, so no nested object of the module came as the
# text of its ToString(); and the default views render what arrived exactly as they render the live objects. Then
# findings that came over SSH are repaired on the host they came from, and refused on another.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
    # Every cmdlet, and the forms whose output is of another type (-Summary).
    $cmdlets = @(
        'Get-MptcpKernelState', 'Add-MptcpEndpoint', 'Get-MptcpEndpoint', 'Set-MptcpEndpoint', 'Remove-MptcpEndpoint', 'Get-MptcpLimit',
        'Set-MptcpLimit', 'Get-MptcpCounter', 'Get-MptcpConnection', 'Test-MptcpApplication', 'Test-MptcpConnectivity', 'Watch-MptcpEvent',
        'Watch-MptcpPackets', 'Read-MptcpCapture', 'Read-MptcpCapture -Summary', 'Measure-MptcpCapture', 'Compare-MptcpCapture',
        'Compare-MptcpCapture -Summary', 'Export-MptcpChart', 'Get-MptcpDaemonStatus', 'Test-MptcpFirewall', 'Test-MptcpRouting',
        'Invoke-MptcpDiagnosis', 'Repair-MptcpConfiguration', 'Invoke-MptcpDiagnosis -Session', 'Test-MptcpPath', 'Test-MptcpPath -Detailed'
    )
    $cases = foreach ($via in 'Job', 'SSH') { foreach ($c in $cmdlets) { @{ Via = $via; Cmdlet = $c } } }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    Import-Module (Get-LabModulePath) -Force   # the crafted captures are built here
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')
    $support = Get-Content -Raw (Join-Path $PSScriptRoot 'Support/RemotingSupport.ps1')
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-remoting"
    New-Item -ItemType Directory -Path $work -Force | Out-Null

    # A capture of one two-subflow connection at the client, and the server's capture of it through a NAT that also
    # strips one DSS: what Measure-MptcpCapture and Compare-MptcpCapture need to write every kind of object.
    # The crafted connection's handshakes and first data on each subflow (tests/Support/MeasureSupport.ps1), then a
    # reinjection of the first segment on the join, and the server's data ACK.
    $crafting = Get-CraftedConnection
    $idsn = $crafting.Idsn; $hosts = $crafting.Hosts
    $rows = @($crafting.Rows[0..7] | ForEach-Object { $_.Clone() }) + @(
        @{ From = 'j'; Flags = 'Ack'; Seq = 3001; Ack = 6001; Len = 1000; Opt = (New-DssOption -Dsn ($idsn + 1) -Ssn 1001 -Length 1000) }
        @{ From = 's'; To = 'c'; Flags = 'Ack'; Seq = 5001; Ack = 2001; Len = 0; Opt = (New-DssOption -Ack ($idsn + 2001)) }
    )
    for ($i = 0; $i -lt $rows.Count; $i++) { $rows[$i].T = $i * 0.01 }
    $reference = Join-Path $work 'client.pcap'
    Write-CraftedCapture $reference $rows $hosts
    $serverRows = foreach ($r in $rows) { $x = $r.Clone(); $x.T += 5; if ($x.Seq -eq 2001 -and $x.Len -gt 0) { $x.Opt = '' }; $x }
    $difference = Join-Path $work 'server.pcap'
    Write-CraftedCapture $difference $serverRows @{ c = $hosts.c; s = $hosts.s; j = @('203.0.113.99', 50001) }

    # What the sending side runs: every cmdlet once, each followed by a note of what its objects were where they were made.
    $sender = {
        param([string] $Support, [string] $Module, [string] $Peer, [string] $Work, [string] $Reference, [string] $Difference, [hashtable] $Other)
        $ErrorActionPreference = 'Stop'
        . ([scriptblock]::Create($Support))
        if ($Module) { Import-Module $Module } else { Import-Module MptcpTools }
        New-Item -ItemType Directory -Path $Work -Force | Out-Null
        $noBus = "unix:path=$Work/no-bus"
        $processes = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
        function Start-Peer([string[]] $Arguments) {
            $p = Start-Process $Peer -ArgumentList $Arguments -PassThru -RedirectStandardOutput (Join-Path $Work "$([guid]::NewGuid().ToString('n')).out")
            $processes.Add($p); $p
        }
        function Send-Note([string] $Name, [scriptblock] $Run) {
            $objects = @(& $Run)
            $objects
            [pscustomobject]@{
                PSTypeName = 'MptcpLab.Sent'; Cmdlet = $Name; Count = $objects.Count
                Prints = [string[]]@($objects | ForEach-Object { (Get-ObjectPrint $_) -join "`n" })
                Formatted = ($objects | Out-String -Width 300)
            }
        }
        function Wait-Until([scriptblock] $Condition) {
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (-not (& $Condition)) { if ([DateTime]::UtcNow -gt $deadline) { throw "timed out: $Condition" }; Start-Sleep -Milliseconds 100 }
        }
        try {
            $port = 5301
            Start-Peer 'serve', '--port', $port | Out-Null
            Wait-Until { Get-MptcpConnection -Listening -LocalPort $port }
            $holder = Start-Peer 'send', '--to', '127.0.0.1', '--port', $port, '--bytes', '100000', '--hold', '120'
            Wait-Until { Get-MptcpConnection -RemotePort $port }
            $saved = Join-Path $Work 'watched.pcapng'

            Send-Note 'Get-MptcpKernelState' { Get-MptcpKernelState }
            Send-Note 'Add-MptcpEndpoint' { Add-MptcpEndpoint -Address 192.0.2.200 -Id 50 -Flags Signal -PassThru }
            Send-Note 'Get-MptcpEndpoint' { Get-MptcpEndpoint }
            Send-Note 'Set-MptcpEndpoint' { Set-MptcpEndpoint -Id 50 -Flags Signal, Backup -PassThru }
            Send-Note 'Remove-MptcpEndpoint' { Remove-MptcpEndpoint -Id 50 -PassThru -Confirm:$false }
            Send-Note 'Get-MptcpLimit' { Get-MptcpLimit }
            Send-Note 'Set-MptcpLimit' { Set-MptcpLimit -Subflows 2 -AddAddrAccepted 2 -PassThru }
            Send-Note 'Get-MptcpCounter' { Get-MptcpCounter -NonZero }
            Send-Note 'Get-MptcpConnection' { Get-MptcpConnection -RemotePort $port }
            Send-Note 'Test-MptcpApplication' { Test-MptcpApplication -ProcessId $holder.Id }
            Send-Note 'Test-MptcpConnectivity' { Test-MptcpConnectivity -ComputerName 127.0.0.1 -Port $port }
            Start-Peer 'send', '--to', '127.0.0.1', '--port', $port, '--bytes', '1000', '--hold', '1', '--delay', '1' | Out-Null
            Send-Note 'Watch-MptcpEvent' { Watch-MptcpEvent -Duration 3 }
            Start-Peer 'send', '--to', '127.0.0.1', '--port', $port, '--bytes', '20000', '--hold', '1', '--delay', '1' | Out-Null
            Send-Note 'Watch-MptcpPackets' { Watch-MptcpPackets -Interface lo -Port $port -Duration 3 -SaveAs $saved }
            Send-Note 'Read-MptcpCapture' { Read-MptcpCapture $saved }
            Send-Note 'Read-MptcpCapture -Summary' { Read-MptcpCapture $saved -Summary }
            Send-Note 'Measure-MptcpCapture' { Measure-MptcpCapture $Reference }
            Send-Note 'Compare-MptcpCapture' { Compare-MptcpCapture $Reference $Difference }
            Send-Note 'Compare-MptcpCapture -Summary' { Compare-MptcpCapture $Reference $Difference -Summary }
            Send-Note 'Export-MptcpChart' { Measure-MptcpCapture $Reference | Export-MptcpChart (Join-Path $Work 'chart.svg') -PassThru }
            Send-Note 'Get-MptcpDaemonStatus' { Get-MptcpDaemonStatus -BusAddress $noBus }
            Send-Note 'Test-MptcpFirewall' { Test-MptcpFirewall }
            Send-Note 'Test-MptcpRouting' { Test-MptcpRouting -Destination 203.0.113.2 }
            Send-Note 'Invoke-MptcpDiagnosis' { Invoke-MptcpDiagnosis -BusAddress $noBus -IncludePassed -Port $port }
            Set-MptcpLimit -Subflows 0
            Send-Note 'Repair-MptcpConfiguration' { Invoke-MptcpDiagnosis -BusAddress $noBus | Where-Object Id -eq SubflowLimitZero | Repair-MptcpConfiguration -Confirm:$false }
            # The other host of the lab, over SSH from here: what the fan-out and the path test write.
            $session = New-PSSession @Other
            try {
                Send-Note 'Invoke-MptcpDiagnosis -Session' { Invoke-MptcpDiagnosis -Session $session -BusAddress $noBus }
                Send-Note 'Test-MptcpPath' { Test-MptcpPath -Server $session -BusAddress $noBus -IncludePassed }
                Send-Note 'Test-MptcpPath -Detailed' { Test-MptcpPath -Server $session -BusAddress $noBus -Detailed }
            }
            finally { Remove-PSSession $session }
        }
        finally {
            foreach ($p in $processes) { if (-not $p.HasExited) { $p.Kill() } }
        }
    }

    # What the receiving side runs (in the client namespace): the sender in a job, then over SSH to the server's
    # namespace; for each cmdlet, what was sent and what arrived, as text.
    $receiver = {
        param([string] $Support, [string] $Sender, [object[]] $JobArguments, [object[]] $SshArguments, [hashtable] $Session)
        . ([scriptblock]::Create($Support))
        function Read-Arrivals([string] $Via, $Output) {
            $objects = [System.Collections.Generic.List[object]]::new()
            foreach ($o in $Output) {
                if ($o.PSObject.TypeNames -contains 'Deserialized.MptcpLab.Sent') {
                    foreach ($x in $objects) {
                        # Remoting tags what arrives with the sending host (PSComputerName, shown as a column); the module's own
                        # findings about other hosts were tagged with their host where they were made: tag them so again.
                        $x.PSObject.Properties.Remove('PSShowComputerName')
                        if ($x.PSObject.TypeNames[0] -eq 'Deserialized.MptcpTools.Diagnosis.MptcpFinding' -and $x.ComputerName) {
                            $x.PSObject.Properties.Remove('PSComputerName')
                            $x.PSObject.Properties.Add([psnoteproperty]::new('PSComputerName', $x.ComputerName))
                            $x.PSObject.Properties.Add([psnoteproperty]::new('PSShowComputerName', $true))
                        }
                    }
                    [pscustomobject]@{
                        Via = $Via; Cmdlet = $o.Cmdlet; SentCount = $o.Count; ArrivedCount = $objects.Count
                        Sent = @($o.Prints) -join "`n--`n"
                        Arrived = @($objects | ForEach-Object { (Get-ObjectPrint $_) -join "`n" }) -join "`n--`n"
                        SentFormatted = $o.Formatted
                        ArrivedFormatted = ($objects | Out-String -Width 300)
                        TypeNames = @($objects | ForEach-Object { $_.PSObject.TypeNames[0] } | Sort-Object -Unique)
                    }
                    $objects.Clear()
                }
                else { $objects.Add($o) }
            }
        }
        $job = Start-Job -ScriptBlock ([scriptblock]::Create($Sender)) -ArgumentList $JobArguments | Receive-Job -Wait -AutoRemoveJob -ErrorAction Continue
        Read-Arrivals 'Job' $job
        $s = New-PSSession @Session
        try { Read-Arrivals 'SSH' (Invoke-Command -Session $s -ScriptBlock ([scriptblock]::Create($Sender)) -ArgumentList $SshArguments -ErrorAction Continue) }
        finally { Remove-PSSession $s }
    }
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'Every cmdlet''s output crosses a job and an SSH session whole' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $ssh = Start-LabSshd $lab $lab.Server $lab.Addresses.ServerAddress
        $clientSsh = Start-LabSshd $lab $lab.Client $lab.Addresses.ClientPath1
        # Something for Test-MptcpFirewall and Test-MptcpRouting to say on both sides.
        foreach ($ns in $lab.Client, $lab.Server) {
            Add-LabNftRules $ns "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  ip daddr 192.0.2.222 tcp option mptcp exists drop`n }`n}"
        }
        Invoke-InNamespace $lab.Server ip 'mptcp', 'endpoint', 'add', $lab.Addresses.ServerAddress, 'dev', 's0', 'signal' | Out-Null
        # The job runs in the client's namespace and reaches the server; the SSH sender runs in the server's and reaches the client.
        $jobArgs = @($support, (Get-LabModulePath), (Get-LabPeerPath), (Join-Path $work 'job'), $reference, $difference, $ssh.SessionParameters)
        $sshArgs = @($support, '', (Get-LabPeerPath), (Join-Path $work 'ssh'), $reference, $difference, $clientSsh.SessionParameters)
        $r = Invoke-LabCmdlet $lab.Client $receiver -ArgumentList $support, $sender.ToString(), $jobArgs, $sshArgs, $ssh.SessionParameters
        $arrivals = @($r.Output)
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'ran every cmdlet on both sides without an error' -TestCases @{ Names = $cmdlets } {
        $r.Errors | Should -BeNullOrEmpty
        @($arrivals | Where-Object Via -eq 'Job').Cmdlet | Should -Be $Names
        @($arrivals | Where-Object Via -eq 'SSH').Cmdlet | Should -Be $Names
    }

    It '<Cmdlet> through <Via>: every object arrives whole, and renders as it did where it was made' -ForEach $cases {
        $a = $arrivals | Where-Object { $_.Via -eq $Via -and $_.Cmdlet -eq $Cmdlet }
        $a | Should -Not -BeNullOrEmpty
        $a.SentCount | Should -BeGreaterThan 0 -Because 'a cmdlet that wrote nothing proves nothing'
        $a.ArrivedCount | Should -Be $a.SentCount
        @($a.TypeNames | Where-Object { $_ -notlike 'Deserialized.MptcpTools.*' }) | Should -BeNullOrEmpty
        $a.Arrived | Should -Be $a.Sent
        $a.ArrivedFormatted | Should -Be $a.SentFormatted
    }
}

Describe 'Findings that came over SSH are repaired on the host they came from, and nowhere else' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $ssh = Start-LabSshd $lab $lab.Server $lab.Addresses.ServerAddress
        # Both ends lack subflows: a record applied on the wrong host would show on the client.
        foreach ($ns in $lab.Client, $lab.Server) { Invoke-InNamespace $ns ip 'mptcp', 'limits', 'set', 'subflows', '0', 'add_addr_accepted', '2' | Out-Null }
        $r = Invoke-LabCmdlet $lab.Client {
            param($session, $bus)
            $s = New-PSSession @session
            try {
                $findings = Invoke-Command -Session $s { Invoke-MptcpDiagnosis -BusAddress $using:bus } | Where-Object Id -eq SubflowLimitZero
                [pscustomobject]@{ Step = 'here, by property'; Result = @($findings | Repair-MptcpConfiguration -Confirm:$false) }
                [pscustomobject]@{ Step = 'here, -Finding'; Result = @(Repair-MptcpConfiguration -Finding $findings -Confirm:$false) }
                [pscustomobject]@{ Step = 'there'; Result = @(Invoke-Command -Session $s { $using:findings | Repair-MptcpConfiguration -Confirm:$false }) }
            }
            finally { Remove-PSSession $s }
        } -ArgumentList $ssh.SessionParameters, "unix:path=$work/no-bus"
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'refuses them here, through the Repair property and through -Finding, naming the host they came from' {
        @($r.Output | Where-Object Step -like 'here*' | ForEach-Object { $_.Result }) | Should -BeNullOrEmpty
        $wrong = @($r.Errors | Where-Object FullyQualifiedErrorId -like 'RepairWrongHost,*')
        $wrong.Count | Should -Be 2
        $wrong[0].Category | Should -Be 'InvalidOperation'
        $wrong[0].Message | Should -Match 'applied only where it was made'
        $wrong[0].RecommendedAction | Should -Match 'Invoke-Command -Session'
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'limits') -join ' ' | Should -Match 'subflows 0'
    }

    It 'applies them there, through $using:' {
        $there = ($r.Output | Where-Object Step -eq 'there').Result
        @($there).Count | Should -Be 1
        $there.Applied | Should -BeTrue
        $there.PSComputerName | Should -Be $lab.Addresses.ServerAddress
        (Invoke-InNamespace $lab.Server ip 'mptcp', 'limits') -join ' ' | Should -Match 'subflows 2'
        @($r.Errors | Where-Object FullyQualifiedErrorId -notlike 'RepairWrongHost,*') | Should -BeNullOrEmpty
    }
}
