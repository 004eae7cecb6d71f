# The default views at 80 and at 120 columns, on real objects: the lab's endpoints, connections, events, a real
# capture and a crafted one measured, compared and charted, kernel features, firewall rules, routes, a diagnosis
# and its repairs, and NetworkManager (through the D-Bus stand-in,
# not the real daemon). Every word a view shows must come out whole (no word split across lines, nothing cut
# off with an ellipsis, no column dropped), and no line may pass the width. The same objects must give
# ConvertTo-Json -EnumsAsStrings with enums by name and durations as numbers.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-views"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $capture = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump'
    # The data-level tests' crafted connection (a reinjection, a gap, an overlap, MP_PRIO), and the server's capture of it.
    Import-Module (Get-LabModulePath) -Force
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')
    $crafting = Get-CraftedConnection
    $crafted = Join-Path $work 'two-subflows.pcap'; $serverCapture = Join-Path $work 'two-subflows-server.pcap'
    Write-CraftedCapture $crafted $crafting.Rows $crafting.Hosts
    Write-CraftedCapture $serverCapture (Get-CraftedServerRows $crafting.Rows $crafting.Idsn) $crafting.Hosts
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'The default views and JSON on real objects' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $sender = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '2000000', '--hold', '300'
        # NetworkManager through the stand-in: a connection name with spaces, two devices' worth of flags.
        $bus = Start-LabDBus $lab -Scenario @{ networkManager = @{ version = '1.42.4'; connections = @(
                    @{ id = 'Wired connection 1'; uuid = 'a1'; type = '802-3-ethernet'; device = 'c0'; mptcpFlags = 0x32 }
                    @{ id = 'uplink-2'; uuid = 'a2'; type = '802-3-ethernet'; device = 'c1'; mptcpFlags = 1 }) } }
        # Firewall rules that break MPTCP (on a port the lab's traffic does not use), with comments of spaces and quotes.
        Add-LabNftRules $lab.Client "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  tcp dport 9999 tcp option mptcp exists drop comment `"no mptcp, it's a test`"`n }`n}"
        Invoke-InNamespace $lab.Client iptables '-t', 'mangle', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9998', '-m', 'comment', '--comment', 'legacy "strip" rule', '-j', 'TCPOPTSTRIP', '--strip-options', '30' | Out-Null
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.c1.rp_filter=1' | Out-Null
        # A persistent sysctl file, bound over /etc/sysctl.d for the call.
        $sysctlDir = Join-Path $work 'sysctl.d'
        New-Item -ItemType Directory -Path $sysctlDir -Force | Out-Null
        Set-Content (Join-Path $sysctlDir '90-mptcp.conf') "net.mptcp.enabled = 1`nnet.mptcp.allow_join_initial_addr_port = 1`nnet.mptcp.mptcp_enabled = 1"
        # Test-MptcpPath's objects: the server reached over SSH, announcing a second address (an ADD_ADDR to match).
        Invoke-InNamespace $lab.Server ip 'addr', 'add', '203.0.113.3/24', 'dev', 's0' | Out-Null
        Invoke-InNamespace $lab.Server ip 'mptcp', 'endpoint', 'add', '203.0.113.3', 'dev', 's0', 'signal' | Out-Null
        $ssh = Start-LabSshd $lab $lab.Server $lab.Addresses.ServerAddress

        $r = Invoke-LabCmdlet $lab.Client {
            param($Bus, $Capture, $Peer, $Crafted, $ServerCapture, $Work, $Ssh)
            $objects = [System.Collections.Generic.List[object]]::new()
            function Add-Objects { foreach ($o in $input) { if ($null -ne $o) { $objects.Add($o) } } }
            Get-MptcpEndpoint | Add-Objects
            Get-MptcpLimit | Add-Objects
            Get-MptcpCounter -Interval 0.5 | Add-Objects
            $state = Get-MptcpKernelState
            $state | Add-Objects
            $state.Persistent | Add-Objects
            $state.Features | Add-Objects
            $state.Features.All() | Add-Objects
            $packets = @(Read-MptcpCapture -LiteralPath (Join-Path $Capture 'mptcp-v1.pcap'), (Join-Path $Capture 'mptcp-aa-v1.pcap'), (Join-Path $Capture 'mptcp-tcprst.pcap'))
            $packets | Add-Objects
            $packets.Options | Add-Objects
            $summaries = @(Read-MptcpCapture -LiteralPath (Join-Path $Capture 'mptcp-v1.pcap'), (Join-Path $Capture 'mptcp-aa-v1.pcap'), (Join-Path $Capture 'mptcp-tcprst.pcap'), (Join-Path $Capture 'mptcp-fclose.pcap') -Summary)
            $summaries | Add-Objects
            $summaries.Subflows | Add-Objects
            $measured = @(Measure-MptcpCapture -LiteralPath $Crafted -Interval 0.05)
            $measured | Add-Objects
            foreach ($part in 'Subflows', 'Directions', 'ReinjectionPairs', 'ReinjectedSegments', 'MappingProblems', 'Throughput') { $measured.$part | Add-Objects }
            Compare-MptcpCapture -ReferencePath $Crafted -DifferencePath $ServerCapture | Add-Objects
            Compare-MptcpCapture -ReferencePath $Crafted -DifferencePath $ServerCapture -Summary | Add-Objects
            $measured | Export-MptcpChart -Path (Join-Path $Work 'views.png') -PassThru | Add-Objects
            $connections = @(Get-MptcpConnection)
            $connections | Add-Objects
            $connections.Subflows | Add-Objects
            Test-MptcpConnectivity $Peer 5201 -Duration 1 | Add-Objects
            Test-MptcpConnectivity $Peer 5209 -Timeout 2 | Add-Objects
            Test-MptcpApplication -Name MptcpPeer | Add-Objects
            # Events of a connection opened while listening.
            $job = Start-ThreadJob { param($p, $m) Import-Module $m; Start-Sleep -Milliseconds 700; Test-MptcpConnectivity $p 5201 -Duration 1 | Out-Null } -ArgumentList $Peer, (Get-Module MptcpTools).Path
            Watch-MptcpEvent -Duration 4 | Add-Objects
            $job | Wait-Job | Remove-Job
            Get-MptcpDaemonStatus -BusAddress $Bus | Add-Objects
            Get-MptcpNetworkManagerSetting -BusAddress $Bus | Add-Objects
            Test-MptcpFirewall -Port 5201 | Add-Objects
            Test-MptcpRouting | Add-Objects
            Test-MptcpRouting -Destination 203.0.113.2, 2001:db8:3::2 | Add-Objects
            $findings = @(Invoke-MptcpDiagnosis -IncludePassed -Port 5201 -BusAddress $Bus)
            $findings | Add-Objects
            $findings.Repair | Add-Objects
            $findings | Where-Object Component -eq Firewall | Repair-MptcpConfiguration | Add-Objects   # described, not applied
            $findings | Repair-MptcpConfiguration -Id SubflowLimitZero, AddAddrAcceptedZero, NoSubflowEndpoints -Confirm:$false | Add-Objects
            # Two ends: the client ignoring the server's announcement (a finding with both ends' evidence), and a host
            # the fan-out cannot reach (nothing listens on port 2 there).
            & ip mptcp limits set subflows 2 add_addr_accepted 0
            $session = New-PSSession @Ssh
            try { $pathTest = Test-MptcpPath -Server $session -Detailed -BusAddress $Bus }
            finally { Remove-PSSession $session }
            & ip mptcp limits set subflows 2 add_addr_accepted 2
            $pathTest | Add-Objects
            $pathTest.Paths | Add-Objects
            $pathTest.Paths.Handshake | Add-Objects
            $pathTest.Paths.Handshake.Sightings | Add-Objects
            $pathTest.Announcements | Add-Objects
            $pathTest.Findings | Add-Objects
            $pathTest.Findings.Evidence | Where-Object { $_ -is [MptcpTools.Diagnosis.MptcpPathEndEvidence] } | Add-Objects
            $unreachable = @(Invoke-MptcpDiagnosis -HostName "$($Ssh.HostName):2" -UserName root -KeyFilePath $Ssh.KeyFilePath -Options $Ssh.Options -ConnectingTimeout 5)
            $unreachable | Add-Objects
            $unreachable.Evidence | Add-Objects

            # Each object through its default view: the words each column or item shows, and the text at each width.
            $views = @{}
            foreach ($data in Get-FormatData -TypeName 'MptcpTools.*') {
                foreach ($name in $data.TypeNames) { if (-not $views.ContainsKey($name)) { $views[$name] = $data.FormatViewDefinition[0] } }
            }
            foreach ($o in $objects) {
                # The view PowerShell picks: the first of the object's type names (its class, then its bases) that has one.
                $type = @($o.PSObject.TypeNames | Where-Object { $views.ContainsKey($_) })[0]
                if (-not $type) { continue }
                $view = $views[$type]
                $entries = if ($view.Control -is [System.Management.Automation.TableControl]) { $view.Control.Rows[0].Columns.DisplayEntry } else { $view.Control.Entries[0].Items.DisplayEntry }
                $words = foreach ($entry in $entries) {
                    $value = if ("$($entry.ValueType)" -eq 'Property') { $o.($entry.Value) } else { ForEach-Object -InputObject $o -Process ([scriptblock]::Create($entry.Value)) }
                    if ($null -ne $value) { "$value" -split '\s+' | Where-Object { $_ } }
                }
                foreach ($width in 80, 120) {
                    $text = $o | Out-String -Width $width
                    $tokens = [System.Collections.Generic.HashSet[string]]::new([string[]]@($text -split '\s+'))
                    [pscustomobject]@{
                        Type = $type; View = $view.Name; Width = $width; Text = $text
                        Missing = @($words | Where-Object { -not $tokens.Contains($_) } | Select-Object -Unique)
                        Long = @(($text -split "`r?`n") | Where-Object { $_.Length -gt $width })
                        Ellipsis = $text.Contains([char]0x2026)
                    }
                }
            }

            # ConvertTo-Json of each: enums by name, and no duration written as a TimeSpan object.
            function Test-Json($Value, $Json, [string] $Path, [int] $Depth) {
                if ($null -eq $Value -or $Depth -gt 4) { return }
                $type = $Value.GetType()
                if ($type.IsEnum) {
                    if ($Json -isnot [string] -or $Json -ne $Value.ToString()) { "${Path}: the enum $($type.Name) is '$Json', not its name '$Value'" }
                    return
                }
                if ($Value -is [TimeSpan]) { "${Path}: a duration written as a TimeSpan object"; return }
                if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [string] -and $Value -isnot [System.Collections.IDictionary]) {
                    if ($Json -is [System.Collections.IList]) {
                        $i = 0; foreach ($item in $Value) { if ($i -lt $Json.Count) { Test-Json $item $Json[$i] "$Path[$i]" ($Depth + 1) }; $i++ }
                    }
                    return
                }
                if ($Value -is [string] -or $type.IsPrimitive -or $type.FullName -notlike 'MptcpTools.*') { return }
                foreach ($p in $type.GetProperties()) {
                    $hidden = $p.IsDefined([System.Management.Automation.HiddenAttribute], $true)
                    $inJson = $Json -is [System.Collections.IDictionary] -and $Json.Contains($p.Name)
                    $pt = [Nullable]::GetUnderlyingType($p.PropertyType) ?? $p.PropertyType
                    if ($pt -eq [TimeSpan]) {
                        if ($inJson) { "$Path.$($p.Name): a TimeSpan in the JSON" }
                        $number = @($type.GetProperties() | Where-Object { $_.Name -like "$($p.Name)*Seconds" -or $_.Name -like "$($p.Name)*Milliseconds" })
                        if ($number.Count -ne 1) { "$Path.$($p.Name): no number beside the duration" }
                        elseif ($null -ne $p.GetValue($Value)) {
                            $n = $Json[$number[0].Name]
                            if ($n -isnot [double] -and $n -isnot [long] -and $n -isnot [int] -and $n -isnot [decimal]) { "$Path.$($number[0].Name): '$n' is not a number" }
                        }
                        continue
                    }
                    if ($hidden -or -not $inJson) { continue }
                    Test-Json ($p.GetValue($Value)) $Json[$p.Name] "$Path.$($p.Name)" ($Depth + 1)
                }
            }
            $jsonProblems = foreach ($o in $objects) {
                $json = $o | ConvertTo-Json -EnumsAsStrings -Depth 6 -WarningAction SilentlyContinue
                if ($json -match '"Ticks"\s*:') { "$($o.GetType().Name): a TimeSpan object in the JSON" }
                Test-Json $o ($json | ConvertFrom-Json -AsHashtable -Depth 20) $o.GetType().Name 0
            }
            [pscustomobject]@{ PSTypeName = 'ViewCheck'; Types = @($objects | ForEach-Object { $_.GetType().FullName } | Select-Object -Unique); Json = @($jsonProblems | Select-Object -Unique) }
        } -ArgumentList $bus.Address, $capture, $lab.Addresses.ServerAddress, $crafted, $serverCapture, $work, $ssh.SessionParameters -BindMount @{ '/etc/sysctl.d' = $sysctlDir }
        $renders = @($r.Output | Where-Object { $_.PSObject.Properties['Width'] })
        $summary = $r.Output | Where-Object { $_.PSObject.Properties['Json'] }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'gathers real objects without errors' {
        $r.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Message)" } | Should -BeNullOrEmpty
        $renders.Count | Should -BeGreaterThan 40
    }

    It 'renders a real object through every default view of the format file' {
        Import-Module (Get-LabModulePath) -Force
        $viewNames = (Get-FormatData -TypeName 'MptcpTools.*').FormatViewDefinition.Name | Select-Object -Unique
        foreach ($name in $viewNames) {
            @($renders | Where-Object View -eq $name).Count | Should -BeGreaterThan 0 -Because "the $name view needs a real object in this test"
        }
    }

    It 'never splits a word, cuts one off or drops a column, and keeps within <_> columns' -ForEach 80, 120 {
        $width = $_
        # The first failing object of each view, so that every view that fails shows.
        $bad = foreach ($x in $renders | Where-Object { $_.Width -eq $width -and ($_.Missing.Count -or $_.Long.Count -or $_.Ellipsis) } | Group-Object View | ForEach-Object { $_.Group[0] }) {
            if ($x.Missing.Count -or $x.Long.Count -or $x.Ellipsis) {
                "$($x.View) at ${width}: missing [$($x.Missing -join '] [')]$(if ($x.Long.Count) { "; $($x.Long.Count) line(s) too long" })$(if ($x.Ellipsis) { '; cut off with an ellipsis' })`n$($x.Text)"
            }
        }
        $bad | Should -BeNullOrEmpty
    }

    It 'writes enums by name and durations as numbers in ConvertTo-Json -EnumsAsStrings, for every output type' {
        $summary.Json | Should -BeNullOrEmpty
        # The cmdlets' declared output types are all among the objects checked.
        Import-Module (Get-LabModulePath) -Force
        $declared = (Get-Command -Module MptcpTools).OutputType.Type | Where-Object { $_ -and $_.FullName -like 'MptcpTools.*' } | ForEach-Object FullName | Select-Object -Unique
        foreach ($t in $declared) { $summary.Types | Should -Contain $t }
    }
}
