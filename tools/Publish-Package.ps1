# Writes the module as a .nupkg into a folder that Install-PSResource can use as a repository.
param([Parameter(Mandatory)] [string] $ModulePath, [Parameter(Mandatory)] [string] $PackageDir)
$ErrorActionPreference = 'Stop'
$name = "MptcpToolsBuild$PID"
Register-PSResourceRepository -Name $name -Uri $PackageDir -Trusted
try {
    Publish-PSResource -Path $ModulePath -Repository $name
}
finally {
    Unregister-PSResourceRepository -Name $name
}
